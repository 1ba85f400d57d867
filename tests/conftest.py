import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Environment, Settings
from backend.db import session_scope
from backend.main import create_app
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from tests.db import PostgresForTests, test_postgres
from tests.s3 import s3_endpoint  # noqa: F401  (a shared session fixture)

PASSWORD = "correct-horse-battery"


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


@dataclass
class Actor:
    id: uuid.UUID
    org_id: uuid.UUID
    username: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Org:
    id: uuid.UUID
    admin: Actor
    supervisor: Actor
    rep: Actor
    other_rep: Actor


class World:
    """Builds organizations and signs their users in, through the real services and API."""

    def __init__(self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]):
        self.client = client
        self.sessionmaker = sessionmaker

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, object]:
        response = await self.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    async def actor(
        self, user_id: uuid.UUID, org_id: uuid.UUID, username: str, role: Role
    ) -> Actor:
        tokens = await self.login(username)
        return Actor(user_id, org_id, username, role, str(tokens["access_token"]))

    async def org(self, prefix: str | None = None) -> Org:
        prefix = prefix or uuid.uuid4().hex[:8]
        async with session_scope(self.sessionmaker) as session:
            org, admin = await org_service.create_org(
                session, f"Org {prefix}", f"{prefix}-admin", PASSWORD
            )
            users = {}
            for name, role in (("sup", Role.supervisor), ("rep", Role.rep), ("rep2", Role.rep)):
                user = await user_service.create_user(
                    session,
                    org.id,
                    UserCreate(
                        username=f"{prefix}-{name}", display_name=name, role=role, password=PASSWORD
                    ),
                    admin.id,
                )
                users[name] = user
        return Org(
            id=org.id,
            admin=await self.actor(admin.id, org.id, admin.username, Role.admin),
            supervisor=await self.actor(
                users["sup"].id, org.id, users["sup"].username, Role.supervisor
            ),
            rep=await self.actor(users["rep"].id, org.id, users["rep"].username, Role.rep),
            other_rep=await self.actor(users["rep2"].id, org.id, users["rep2"].username, Role.rep),
        )


@pytest.fixture
def world(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return World(client, sessionmaker)
