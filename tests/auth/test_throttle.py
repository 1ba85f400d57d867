import asyncio
from collections import Counter as Counter_
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.throttle import (
    FAILURE_WINDOW,
    Counter,
    Policy,
    account_key,
    address_key,
    count_attempt,
    lockout_seconds,
    refund,
)
from backend.config import Settings
from backend.db import session_scope
from backend.main import create_app
from backend.models import LoginThrottle
from tests.factories.world import PASSWORD, World, end_lockout, token_request


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
        assert (await token_request(client, org.rep.username, "wrong-password")).status_code == 401
    locked = await token_request(client, org.rep.username, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["code"] == "rate_limited"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Another account is unaffected.
    assert (await token_request(client, org.other_rep.username, PASSWORD)).status_code == 200

    await end_lockout(sessionmaker, org.rep.username)
    assert (await token_request(client, org.rep.username, PASSWORD)).status_code == 200
    # Success clears the count: one more failure does not lock again.
    assert (await token_request(client, org.rep.username, "wrong-password")).status_code == 401
    assert (await token_request(client, org.rep.username, PASSWORD)).status_code == 200


async def test_unknown_usernames_are_throttled_the_same_way(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    answers = []
    for username in ("ghost-user", org.rep.username):
        for _ in range(5):
            await token_request(client, username, "wrong-password")
        response = await token_request(client, username, "wrong-password")
        answers.append((response.status_code, response.json()["code"]))
    assert answers[0] == answers[1] == (429, "rate_limited")


async def test_username_is_case_and_space_insensitive(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    response = await token_request(client, f"  {org.rep.username.upper()} ", PASSWORD)
    assert response.status_code == 200


# --- counting before checking (pure) -------------------------------------------------------------

POLICY = Policy(max_failures=5, lockout_base_s=60, lockout_max_s=3600)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _counted(current: Counter | None, now: datetime) -> Counter:
    counted = count_attempt(current, now, POLICY)
    assert isinstance(counted, Counter), counted
    return counted


def test_the_attempt_that_reaches_the_limit_locks_before_it_is_verified() -> None:
    counter = None
    for n in range(1, 5):
        counter = _counted(counter, T0)
        assert (counter.failures, counter.locked_until) == (n, None)
    fifth = _counted(counter, T0)
    assert fifth.failures == 5 and fifth.locked_until == T0 + timedelta(seconds=60)
    # Attempts racing it are refused at once (seconds to wait), and nothing is counted.
    assert count_attempt(fifth, T0 + timedelta(seconds=1), POLICY) == 59
    # After the lock: one more attempt, which locks twice as long.
    sixth = _counted(fifth, T0 + timedelta(seconds=60))
    assert sixth.failures == 6
    assert sixth.locked_until == T0 + timedelta(seconds=60 + 120)
    assert count_attempt(sixth, T0 + timedelta(seconds=61), POLICY) == 119


def test_a_quiet_window_starts_from_zero_but_not_while_locked() -> None:
    four = Counter(4, T0, None)
    assert _counted(four, T0 + FAILURE_WINDOW + timedelta(seconds=1)).failures == 1
    locked = Counter(9, T0, T0 + timedelta(hours=1))
    assert count_attempt(locked, T0 + timedelta(minutes=30), POLICY) == 1800


def test_a_success_takes_its_count_back() -> None:
    before = Counter(3, T0, None)
    counted = _counted(before, T0 + timedelta(seconds=5))
    # Nothing counted since: back to what it found (the old failures do not get younger).
    assert refund(counted, before, counted, POLICY, T0 + timedelta(seconds=6)) == before
    # It found nothing (or only a stale count): the row goes.
    first = _counted(None, T0)
    assert refund(first, None, first, POLICY, T0) is None
    stale = Counter(3, T0 - timedelta(hours=1), None)
    assert refund(_counted(stale, T0), stale, _counted(stale, T0), POLICY, T0) is None
    # Others counted since: one off; their lock stays only while they still reach the limit.
    after_others = Counter(5, T0 + timedelta(seconds=7), T0 + timedelta(seconds=67))
    assert refund(after_others, before, counted, POLICY, T0) == Counter(
        4, T0 + timedelta(seconds=7), None
    )
    six = Counter(6, T0 + timedelta(seconds=7), T0 + timedelta(seconds=127))
    assert refund(six, before, counted, POLICY, T0) == Counter(
        5, T0 + timedelta(seconds=7), T0 + timedelta(seconds=127)
    )


def test_keys_of_accounts_and_addresses_cannot_meet() -> None:
    assert account_key("rep-1@north.example") == "rep-1@north.example"
    assert account_key("ip:203.0.113.9").startswith("name:")
    assert len(account_key("x" * 500)) <= 64
    assert address_key(ip_address("203.0.113.9")) == "ip:203.0.113.9"
    # An IPv6 subscriber has a whole /64: that is one address.
    assert address_key(ip_address("2001:db8:1:2:aaaa::1")) == "ip:2001:db8:1:2::/64"
    assert address_key(ip_address("2001:db8:1:2:ffff::9")) == "ip:2001:db8:1:2::/64"
    longest = ip_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    assert len(address_key(longest)) <= 64


# --- the per-address layer and the client address (in-process app) ------------------------------


@asynccontextmanager
async def _client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with session_scope(sessionmaker) as session:
        rows = await session.execute(select(LoginThrottle.username, LoginThrottle.failures))
        return {username: failures for username, failures in rows.all()}


async def _row(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> Counter | None:
    async with session_scope(sessionmaker) as session:
        row = await session.get(LoginThrottle, key)
        if row is None:
            return None
        return Counter(row.failures, row.last_failure_at, row.locked_until)


async def test_one_address_is_throttled_across_usernames_even_in_parallel(
    app: FastAPI,
    settings: Settings,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    limit = settings.login_ip_max_failures
    assert limit == 30
    async with _client_at(app, "203.0.113.7") as sprayer, _client_at(app, "198.51.100.8") as other:
        answers = await asyncio.gather(
            *(token_request(sprayer, f"sprayed-{n}", "wrong-password") for n in range(40))
        )
        statuses = Counter_([a.status_code for a in answers])
        assert statuses == {401: limit, 429: 40 - limit}
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["code"] == "rate_limited"
        assert "network address" in refused.json()["detail"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        rows = await _rows(sessionmaker)
        assert rows["ip:203.0.113.7"] == limit
        assert sum(1 for key in rows if key.startswith("sprayed-")) == limit

        # The right password from that address waits too; other addresses do not.
        assert (await token_request(sprayer, org.rep.username, PASSWORD)).status_code == 429
        assert (await token_request(other, org.rep.username, PASSWORD)).status_code == 200

        await end_lockout(sessionmaker, "ip:203.0.113.7")
        assert (await token_request(sprayer, org.rep.username, PASSWORD)).status_code == 200
        # After the lock: one more failure is verified, and locks the address again.
        assert (await token_request(sprayer, "sprayed-late", "wrong-password")).status_code == 401
        assert (await token_request(sprayer, org.other_rep.username, PASSWORD)).status_code == 429


async def test_successes_do_not_use_up_an_address(
    app: FastAPI,
    settings: Settings,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    limit = settings.login_ip_max_failures
    async with _client_at(app, "203.0.113.20") as office:
        answers = await asyncio.gather(
            *(token_request(office, f"typo-{n}", "wrong-password") for n in range(limit - 1))
        )
        assert {a.status_code for a in answers} == {401}
        counted = await _row(sessionmaker, "ip:203.0.113.20")
        for actor in (org.rep, org.other_rep, org.supervisor, org.admin):
            assert (await token_request(office, actor.username, PASSWORD)).status_code == 200
        # Back as it was: no failure added, and the old ones not made any younger.
        assert await _row(sessionmaker, "ip:203.0.113.20") == counted
        assert counted is not None and counted.failures == limit - 1
        assert (await token_request(office, "typo-last", "wrong-password")).status_code == 401
        assert (await token_request(office, org.rep.username, PASSWORD)).status_code == 429


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    app: FastAPI, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "::1/128"]
    spoofed = {"X-Forwarded-For": "192.0.2.66, 198.51.100.50"}
    async with _client_at(app, "127.0.0.1") as proxy, _client_at(app, "203.0.113.9") as direct:
        await proxy.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "ghost-a", "password": "wrong-pw"},
            headers=spoofed,
        )
        await direct.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "ghost-b", "password": "wrong-pw"},
            headers=spoofed,
        )
    rows = await _rows(sessionmaker)
    # Through the proxy: the right-most address it was given; directly: the socket's peer.
    assert rows["ip:198.51.100.50"] == 1
    assert rows["ip:203.0.113.9"] == 1
    assert "ip:192.0.2.66" not in rows and "ip:127.0.0.1" not in rows


async def test_with_no_trusted_proxy_x_forwarded_for_is_ignored(settings: Settings) -> None:
    untrusting = settings.model_copy(update={"trusted_proxies": ()})
    application = create_app(untrusting)
    async with LifespanManager(application), _client_at(application, "127.0.0.1") as proxy:
        await proxy.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "ghost-c", "password": "wrong-pw"},
            headers={"X-Forwarded-For": "198.51.100.51"},
        )
        rows = await _rows(application.state.sessionmaker)
    assert rows.get("ip:127.0.0.1") == 1
    assert "ip:198.51.100.51" not in rows


async def test_names_that_cannot_be_usernames_are_throttled_apart_from_addresses(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _client_at(app, "203.0.113.30") as http:
        for username in ("x" * 300, "ip:198.51.100.77"):
            for _ in range(5):
                assert (await token_request(http, username, "wrong-password")).status_code == 401
            assert (await token_request(http, username, "wrong-password")).status_code == 429
    rows = await _rows(sessionmaker)
    assert "ip:198.51.100.77" not in rows
    assert rows["ip:203.0.113.30"] == 10
    assert sum(1 for key in rows if key.startswith("name:")) == 2
