"""Parallel bursts of wrong passwords against a real server process: each attempt is counted
before its password is verified, so no more than the limit are ever verified.

A verified attempt answers ``401`` (``error: invalid_grant``); a refused one ``429
rate_limited`` without touching the password. The throttle row counts the attempts that went on
to be verified.
"""

import asyncio
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.models import LoginThrottle
from tests.factories.world import PASSWORD, World, end_lockout, token_request
from tests.server import running_server

BURST = 40


async def _burst(base_url: str, usernames: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        return await asyncio.gather(
            *(token_request(http, name, f"wrong-password-{n}") for n, name in enumerate(usernames))
        )


async def _failures(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> int | None:
    async with session_scope(sessionmaker) as session:
        failures: int | None = await session.scalar(
            select(LoginThrottle.failures).where(LoginThrottle.username == key)
        )
        return failures


async def test_a_parallel_burst_on_one_account_verifies_at_most_the_limit(
    world: World,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    limit = settings.login_max_failures
    with running_server(database_url, tmp_path / "server") as base_url:
        answers = await _burst(base_url, [org.rep.username] * BURST)
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses[401] + statuses[429] == BURST, statuses
        assert statuses[401] <= limit
        assert statuses[401] == limit  # nothing else resets the count, so exactly the limit
        verified = [a.json() for a in answers if a.status_code == 401]
        assert {(body["code"], body["error"]) for body in verified} == {
            ("unauthorized", "invalid_grant")
        }
        refused = [a for a in answers if a.status_code == 429]
        assert {a.json()["code"] for a in refused} == {"rate_limited"}
        assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in refused)
        assert await _failures(sessionmaker, org.rep.username) == limit

        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            # Locked: even the right password waits.
            assert (await token_request(http, org.rep.username, PASSWORD)).status_code == 429
            await end_lockout(sessionmaker, org.rep.username)
            # The lock has run out: the right password works and clears the count.
            assert (await token_request(http, org.rep.username, PASSWORD)).status_code == 200
            assert await _failures(sessionmaker, org.rep.username) is None
            assert (await token_request(http, org.rep.username, "wrong-again")).status_code == 401
            assert (await token_request(http, org.rep.username, PASSWORD)).status_code == 200


async def test_a_parallel_burst_across_usernames_verifies_at_most_the_address_limit(
    world: World,
    database_url: str,
    tmp_path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    limit = 10
    env = {"DOORSTEP_LOGIN_IP_MAX_FAILURES": str(limit)}
    with running_server(database_url, tmp_path / "server", **env) as base_url:
        answers = await _burst(base_url, [f"sprayed-{n}" for n in range(BURST)])
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {401: limit, 429: BURST - limit}, statuses
        assert await _failures(sessionmaker, "ip:127.0.0.1") == limit
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            locked = await token_request(http, org.rep.username, PASSWORD)
            assert locked.status_code == 429
            assert "network address" in locked.json()["detail"]
