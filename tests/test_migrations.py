import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from backend import migrate
from backend.models import Base
from tests.db import PostgresForTests

# Keyed by username, not tenant data: see backend/models/login_name.py and login_throttle.py.
GLOBAL_TABLES = {"organizations", "login_names", "login_throttles", "alembic_version"}


@pytest.fixture
async def empty_url(template: PostgresForTests) -> AsyncIterator[str]:
    name = await template.create_empty()
    yield template.url(name)
    await template.drop(name)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> list[str]:
    return sorted(inspect(connection).get_table_names())


async def _run(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_and_no_drift(empty_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_url)
    assert "stores" in await _run(empty_url, _tables)
    await asyncio.to_thread(migrate.downgrade, empty_url, "base")
    assert await _run(empty_url, _tables) == ["alembic_version"]
    await asyncio.to_thread(migrate.upgrade, empty_url)
    assert await _run(empty_url, _diff) == []


def _index_report(connection: Connection) -> list[str]:
    inspector = inspect(connection)
    bad = []
    for table in inspector.get_table_names():
        if table in GLOBAL_TABLES:
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        if "org_id" not in columns:
            bad.append(f"{table}: no org_id")
        for index in inspector.get_indexes(table):
            if index["column_names"][0] != "org_id":
                bad.append(f"{table}.{index['name']} does not lead with org_id")
    return bad


async def test_every_tenant_table_has_org_id_leading_its_indexes(empty_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_url)
    assert await _run(empty_url, _index_report) == []


async def test_revision_files_have_dated_names() -> None:
    versions = migrate.ROOT / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        assert name[:8].isdigit() and name[8] == "_", name
