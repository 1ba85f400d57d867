"""The PostgreSQL the tests run against: the server ``DOORSTEP_DATABASE_URL`` names, else an
embedded one in a temporary directory. Each test gets its own database, cloned from a template
that was migrated to head once per run."""

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from backend import migrate
from backend.db import normalize_database_url
from backend.kit.embedded_postgres import EmbeddedPostgres


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PostgresForTests:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.template = f"doorstep_template_{os.getpid()}"

    def url(self, database: str) -> str:
        return _with_database(self.base_url, database)

    async def execute(self, sql: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(self.url("postgres")))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create_template(self) -> None:
        await self.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        await self.execute(f'CREATE DATABASE "{self.template}"')
        await asyncio.to_thread(migrate.upgrade, self.url(self.template))

    async def clone(self) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        await self.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY'
        )
        return name

    async def create_empty(self) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        await self.execute(f'CREATE DATABASE "{name}"')
        return name

    async def drop(self, name: str) -> None:
        await self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def test_postgres(tmp_dir: Path) -> Iterator[PostgresForTests]:
    configured = os.environ.get("DOORSTEP_DATABASE_URL")
    if configured:
        yield PostgresForTests(normalize_database_url(configured))
        return
    embedded = EmbeddedPostgres(tmp_dir)
    embedded.start()
    try:
        yield PostgresForTests(embedded.url("postgres"))
    finally:
        embedded.stop()
