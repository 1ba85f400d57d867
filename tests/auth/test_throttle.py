from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.throttle import lockout_seconds
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import LoginThrottle
from tests.conftest import PASSWORD, World


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


def test_lockout_grows_and_is_capped() -> None:
    assert lockout_seconds(4, 5, 60, 3600) == 0
    assert lockout_seconds(5, 5, 60, 3600) == 60
    assert lockout_seconds(6, 5, 60, 3600) == 120
    assert lockout_seconds(50, 5, 60, 3600) == 3600


async def test_failed_logins_lock_the_account_not_others(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    for _ in range(5):
        assert (await _login(client, org.rep.username, "wrong-password")).status_code == 401
    locked = await _login(client, org.rep.username, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["code"] == "rate_limited"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Another account is unaffected.
    assert (await _login(client, org.other_rep.username, PASSWORD)).status_code == 200

    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == org.rep.username)
            .values(locked_until=utc_now() - timedelta(seconds=1))
        )
    assert (await _login(client, org.rep.username, PASSWORD)).status_code == 200
    # Success clears the count: one more failure does not lock again.
    assert (await _login(client, org.rep.username, "wrong-password")).status_code == 401
    assert (await _login(client, org.rep.username, PASSWORD)).status_code == 200


async def test_unknown_usernames_are_throttled_the_same_way(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    answers = []
    for username in ("ghost-user", org.rep.username):
        for _ in range(5):
            await _login(client, username, "wrong-password")
        response = await _login(client, username, "wrong-password")
        answers.append((response.status_code, response.json()["code"]))
    assert answers[0] == answers[1] == (429, "rate_limited")


async def test_username_is_case_and_space_insensitive(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    response = await _login(client, f"  {org.rep.username.upper()} ", PASSWORD)
    assert response.status_code == 200
