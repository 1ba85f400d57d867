"""The fixtures every test shares: a database cloned from a migrated template per test, the app
and its client, and ``world``. Builders live in ``tests/factories/``."""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Environment, Settings
from backend.main import create_app
from tests.db import PostgresForTests, test_postgres
from tests.factories.world import World
from tests.s3 import s3_endpoint  # noqa: F401  (a shared session fixture)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresForTests]:
    # Not under pytest's tmp_path: a concurrent pytest run prunes and re-permissions that tree,
    # which would pull the cluster's files from under the database server.
    directory = Path(tempfile.mkdtemp(prefix="doorstep-test-pg-"))
    try:
        with test_postgres(directory) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
async def template(postgres: PostgresForTests) -> AsyncIterator[PostgresForTests]:
    await postgres.create_template()
    yield postgres
    await postgres.drop(postgres.template)


@pytest.fixture
async def database_url(template: PostgresForTests) -> AsyncIterator[str]:
    name = await template.clone()
    yield template.url(name)
    await template.drop(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-of-enough-length-0123456789",
        public_base_url="https://doorstep.test",
        scheduler_enabled=False,
        # Webhook endpoints on loopback (the tests' receivers) may be saved; see tests/webhooks.
        webhook_allowed_hosts=("127.0.0.1",),
        log_json=False,
        log_level="WARNING",
        _env_file=None,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@pytest.fixture
def world(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return World(client, sessionmaker)
