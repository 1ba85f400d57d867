import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth import tokens
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import RefreshToken
from tests.factories.world import World


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def _age_use(
    sessionmaker: async_sessionmaker[AsyncSession], token: str, seconds: int
) -> None:
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == tokens.hash_refresh_token(token))
            .values(used_at=utc_now() - timedelta(seconds=seconds))
        )


async def test_refresh_rotates_every_use(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    first = await world.login(org.rep.username)
    second = await _refresh(client, str(first["refresh_token"]))
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(org.rep.id)
    third = await _refresh(client, body["refresh_token"])
    assert third.status_code == 200


async def test_concurrent_refresh_within_grace_window_both_succeed(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    first = str((await world.login(org.rep.username))["refresh_token"])
    a, b = await asyncio.gather(_refresh(client, first), _refresh(client, first))
    assert (a.status_code, b.status_code) == (200, 200)
    assert a.json()["refresh_token"] != b.json()["refresh_token"]
    # Both successors keep working: the family was not revoked.
    assert (await _refresh(client, a.json()["refresh_token"])).status_code == 200
    assert (await _refresh(client, b.json()["refresh_token"])).status_code == 200


async def test_reuse_after_grace_revokes_the_whole_family(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    first = str((await world.login(org.rep.username))["refresh_token"])
    other_session = str((await world.login(org.rep.username))["refresh_token"])
    successor = (await _refresh(client, first)).json()["refresh_token"]
    await _age_use(sessionmaker, first, seconds=3600)

    reused = await _refresh(client, first)
    assert reused.status_code == 401
    assert reused.json()["error"] == "invalid_grant"
    assert reused.headers["content-type"] == "application/problem+json"
    # The thief's (or victim's) successor is dead too, but another device's family lives on.
    assert (await _refresh(client, successor)).status_code == 401
    assert (await _refresh(client, other_session)).status_code == 200
    async with session_scope(sessionmaker) as session:
        revoked = (
            await session.scalars(
                select(RefreshToken.revoked_at).where(RefreshToken.user_id == org.rep.id)
            )
        ).all()
    assert sum(r is not None for r in revoked) == 2


async def test_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    token = str((await world.login(org.rep.username))["refresh_token"])
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == tokens.hash_refresh_token(token))
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    assert (await _refresh(client, token)).status_code == 401


async def test_refresh_lifetime_is_thirty_days_of_inactivity(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    token = str((await world.login(org.rep.username))["refresh_token"])
    async with session_scope(sessionmaker) as session:
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_refresh_token(token))
        )
    assert row is not None
    assert row.expires_at - row.issued_at == timedelta(days=30)


async def test_garbage_refresh_tokens_are_401_not_500(client: httpx.AsyncClient) -> None:
    for garbage in ["", "dsr_", "dsr_!!!!", "dsr_" + "A" * 64, "x" * 90, "dsr_\u4e2d\u6587"]:
        response = await _refresh(client, garbage)
        assert response.status_code in (401, 422), (garbage, response.status_code)


async def test_deactivated_user_cannot_refresh(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    token = str((await world.login(org.rep.username))["refresh_token"])
    response = await client.patch(
        f"/api/v1/users/{org.rep.id}", json={"is_active": False}, headers=org.admin.headers
    )
    assert response.status_code == 200
    assert (await _refresh(client, token)).status_code == 401


async def test_expired_or_forged_access_tokens_are_401(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    org = await world.org()
    principal = Principal(org.rep.id, org.id, org.rep.role)
    expired = tokens.issue_access_token(
        settings.secret, principal, utc_now() - timedelta(hours=1), 900
    )
    forged = tokens.issue_access_token(b"another-secret", principal, utc_now(), 900)
    for token in (expired, forged, "not.a.jwt"):
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
