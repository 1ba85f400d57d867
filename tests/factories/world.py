"""Organizations and their users, made through the real services, signed in through the API."""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.principal import Principal
from backend.config import Environment, Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models import LoginThrottle, Organization, User
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.users import service as user_service
from backend.users.schemas import UserCreate

PASSWORD = "correct-horse-battery"


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


def principal(actor: Actor) -> Principal:
    return Principal(user_id=actor.id, org_id=actor.org_id, role=actor.role)


async def token_request(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """A password grant, answered as it is (the throttle tests want the refusals too)."""
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def access_token(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    response = await token_request(client, username, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def end_lockout(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> None:
    """Let a login throttle's lock (of an account, or ``ip:<address>``) run out now."""
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == key)
            .values(locked_until=utc_now() - timedelta(seconds=1))
        )


async def seed_org(
    session: AsyncSession,
    name: str,
    admin_username: str,
    password: str,
    users: Sequence[tuple[str, Role, str]] = (),
) -> tuple[Organization, User, list[User]]:
    """An organization, its admin and ``users`` (username, role, display name), all with
    ``password``, through the services."""
    org, admin = await org_service.create_org(session, name, admin_username, password)
    made = [
        await user_service.create_user(
            session,
            org.id,
            UserCreate(username=username, display_name=display, role=role, password=password),
            admin.id,
        )
        for username, role, display in users
    ]
    return org, admin, made


@asynccontextmanager
async def seeding(url: str, **settings: Any) -> AsyncIterator[tuple[AsyncSession, Settings]]:
    """A session on the database at ``url`` (committed at the end) and the settings it was
    opened with, for seeding a database that a separate server process will serve."""
    values: dict[str, Any] = {"environment": Environment.test, "database_url": url, **settings}
    settings_ = Settings(**values, _env_file=None)
    engine = create_engine(url, settings_)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            yield session, settings_
    finally:
        await engine.dispose()


class World:
    """Builds organizations and signs their users in, through the real services and API."""

    def __init__(self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]):
        self.client = client
        self.sessionmaker = sessionmaker

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, object]:
        response = await token_request(self.client, username, password)
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
            org, admin, (sup, rep, rep2) = await seed_org(
                session,
                f"Org {prefix}",
                f"{prefix}-admin",
                PASSWORD,
                [
                    (f"{prefix}-sup", Role.supervisor, "sup"),
                    (f"{prefix}-rep", Role.rep, "rep"),
                    (f"{prefix}-rep2", Role.rep, "rep2"),
                ],
            )
        return Org(
            id=org.id,
            admin=await self.actor(admin.id, org.id, admin.username, Role.admin),
            supervisor=await self.actor(sup.id, org.id, sup.username, Role.supervisor),
            rep=await self.actor(rep.id, org.id, rep.username, Role.rep),
            other_rep=await self.actor(rep2.id, org.id, rep2.username, Role.rep),
        )
