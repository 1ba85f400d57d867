"""The ``Idempotency-Key`` header on POSTs (DESIGN §4)."""

import asyncio
import hashlib
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.tokens import read_access_token
from backend.config import Settings
from backend.db import session_scope
from backend.idempotency.repository import insert_claim as _insert_claim
from backend.idempotency.repository import purge_expired
from backend.idempotency.repository import take_over_orphaned_claim as _take_over_orphaned_claim
from backend.kit.idempotency import STALE_CLAIM
from backend.kit.idempotency import KeyedRequest as _Request
from backend.kit.process_owner import Owner
from backend.kit.time import utc_now
from backend.main import create_app
from backend.models.idempotency_key import IdempotencyKey
from backend.teams import service as team_service
from tests.factories.world import Actor, Org, World
from tests.server import running_server, server_process


@pytest.fixture
async def org(world: World) -> Org:
    return await world.org()


def team_body(org: Org, name: str | None = None) -> dict[str, Any]:
    return {"name": name or f"Team {uuid.uuid4().hex[:6]}", "supervisor_id": str(org.supervisor.id)}


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def team_names(client: httpx.AsyncClient, org: Org) -> list[str]:
    response = await client.get("/api/v1/teams", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    return [team["name"] for team in response.json()]


async def test_a_repeated_post_is_replayed_not_run_twice(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = team_body(org, "North")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k-1"))
    second = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k-1"))

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.content == first.content
    assert await team_names(client, org) == ["North"]


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    first = await client.post(
        "/api/v1/teams", json=team_body(org, "A"), headers=keyed(org.admin, "k")
    )
    reused = await client.post(
        "/api/v1/teams", json=team_body(org, "B"), headers=keyed(org.admin, "k")
    )

    assert first.status_code == 201
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await team_names(client, org) == ["A"]


async def test_the_same_key_on_another_path_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org, "A")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k"))
    other = await client.post("/api/v1/stores", json=body, headers=keyed(org.admin, "k"))

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_keys_belong_to_their_caller(client: httpx.AsyncClient, world: World) -> None:
    one, two = await world.org(), await world.org()

    a = await client.post("/api/v1/teams", json=team_body(one, "T"), headers=keyed(one.admin, "x"))
    b = await client.post("/api/v1/teams", json=team_body(two, "T"), headers=keyed(two.admin, "x"))
    # Another user of the same organization, same key, same request: not the admin's answer.
    c = await client.post("/api/v1/teams", json=team_body(one, "T"), headers=keyed(one.rep, "x"))

    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert c.status_code == 403
    assert "idempotent-replayed" not in c.headers
    assert await team_names(client, one) == ["T"]
    assert await team_names(client, two) == ["T"]


async def test_a_4xx_answer_is_replayed_too(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org)
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.rep, "r"))
    second = await client.post("/api/v1/teams", json=body, headers=keyed(org.rep, "r"))

    assert first.status_code == 403
    assert second.status_code == 403
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


async def test_without_a_key_nothing_changes(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org, "Solo")
    first = await client.post("/api/v1/teams", json=body, headers=org.admin.headers)
    second = await client.post("/api/v1/teams", json=body, headers=org.admin.headers)

    assert first.status_code == 201
    assert second.status_code == 409  # the name is taken: the request really ran twice
    assert "idempotent-replayed" not in second.headers
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_without_a_valid_token_the_request_passes_through(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        "/api/v1/teams",
        json=team_body(org),
        headers={"Authorization": "Bearer nope", "Idempotency-Key": "k"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("key", ["x" * 256, "bad\x01key", "tab\tkey", "caf\u00e9"])
async def test_an_invalid_key_is_a_validation_error(
    client: httpx.AsyncClient, org: Org, key: str
) -> None:
    headers = [(k.encode(), v.encode()) for k, v in org.admin.headers.items()]
    headers.append((b"idempotency-key", key.encode("latin-1")))
    response = await client.post("/api/v1/teams", json=team_body(org), headers=headers)

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["pointer"] == "/header/idempotency-key"
    assert await team_names(client, org) == []


async def test_an_empty_key_is_a_validation_error(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post("/api/v1/teams", json=team_body(org), headers=keyed(org.admin, ""))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/header/idempotency-key"


async def test_a_key_of_255_printable_characters_is_accepted(
    client: httpx.AsyncClient, org: Org
) -> None:
    key = ("~ !" * 100)[:255]
    response = await client.post(
        "/api/v1/teams", json=team_body(org), headers=keyed(org.admin, key)
    )
    assert response.status_code == 201, response.text


async def test_concurrent_identical_requests_run_once(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org, "Rush")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "rush"))
            for _ in range(10)
        )
    )

    fresh = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    busy = [r for r in responses if r.status_code == 409]
    assert len(fresh) == 1
    assert len(fresh) + len(replayed) + len(busy) == 10
    assert all(r.content == fresh[0].content for r in replayed)
    for response in busy:
        assert response.json()["code"] == "conflict"
        assert response.headers["retry-after"] == "1"
    assert await team_names(client, org) == ["Rush"]


async def test_a_request_in_progress_answers_409(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org)
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "p"))
    assert first.status_code == 201
    async with session_scope(sessionmaker) as session:
        await session.execute(update(IdempotencyKey).values(status="in_progress"))

    busy = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "p"))
    assert busy.status_code == 409
    assert busy.json()["code"] == "conflict"
    assert busy.headers["retry-after"] == "1"


async def test_a_server_error_releases_the_key(
    app: FastAPI,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = team_body(org, "Again")
    headers = keyed(org.admin, "retry")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with monkeypatch.context() as patch:
            patch.setattr(team_service, "create_team", broken)
            failed = await client.post("/api/v1/teams", json=body, headers=headers)
        assert failed.status_code == 500
        async with session_scope(sessionmaker) as session:
            assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0

        retried = await client.post("/api/v1/teams", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers


async def test_keys_expire_after_a_day(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org, "Old")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "old"))
    assert first.status_code == 201
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utc_now() - timedelta(hours=25))
        )

    # An expired key is no longer remembered: the request runs again (and the name is taken).
    again = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "old"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert "idempotent-replayed" not in again.headers

    async with session_scope(sessionmaker) as session:
        assert await purge_expired(session, utc_now()) == 0  # the 409 was stored just now
        assert await purge_expired(session, utc_now() + timedelta(hours=25)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_a_streamed_body_over_the_limit_is_413(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1024})
    application = create_app(small)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await World(client, application.state.sessionmaker).org()

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(4):
                    yield b"x" * 512

            response = await client.post(
                "/api/v1/teams",
                content=chunks(),
                headers={**keyed(org.admin, "big"), "Content-Type": "application/json"},
            )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# --- Claims that outlive their request (a crash) -------------------------------------------


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def backend_identity(connection: asyncpg.Connection) -> Owner:
    row = await connection.fetchrow(
        "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    )
    assert row is not None
    return Owner(row["pid"], row["backend_start"])


async def wait_until_backend_gone(database_url: str, pid: int) -> None:
    """A closed connection's backend leaves pg_stat_activity a moment after the close."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for _ in range(200):
            if not await connection.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"backend {pid} is still there")
    finally:
        await connection.close()


async def claim_as(
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
    key: str,
    path: str,
    body: bytes,
    owner: Owner | None,
) -> None:
    """The row a request leaves behind once it has claimed ``key`` and not yet answered."""
    async with session_scope(sessionmaker) as session:
        session.add(
            IdempotencyKey(
                org_id=actor.org_id,
                user_id=actor.id,
                key=key,
                method="POST",
                path=path,
                body_sha256=hashlib.sha256(body).digest(),
                status="in_progress",
                owner_pid=owner.pid if owner else None,
                owner_backend_start=owner.backend_start if owner else None,
                created_at=utc_now(),
            )
        )


def json_request(actor: Actor, key: str) -> dict[str, str]:
    return {**keyed(actor, key), "Content-Type": "application/json"}


async def test_a_claim_is_owned_by_the_process_connection(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post(
        "/api/v1/teams", json=team_body(org), headers=keyed(org.admin, "o")
    )
    assert response.status_code == 201

    owner = await app.state.process_owner.current()
    async with session_scope(sessionmaker) as session:
        row = (await session.execute(select(IdempotencyKey))).scalar_one()
        application = await session.scalar(
            text("SELECT application_name FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": row.owner_pid},
        )
    assert (row.owner_pid, row.owner_backend_start) == (owner.pid, owner.backend_start)
    assert application == "doorstep-owner"  # not a pooled connection that may close any time


async def test_a_claim_waits_while_its_owner_lives_and_is_taken_over_once_it_is_gone(
    client: httpx.AsyncClient,
    org: Org,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = json.dumps(team_body(org, "Resumed")).encode()
    owner_connection = await asyncpg.connect(asyncpg_dsn(database_url))
    owner = await backend_identity(owner_connection)
    await claim_as(sessionmaker, org.admin, "cut", "/api/v1/teams", body, owner)

    busy = await client.post("/api/v1/teams", content=body, headers=json_request(org.admin, "cut"))
    assert busy.status_code == 409
    assert busy.headers["retry-after"] == "1"

    await owner_connection.close()  # the owner's connection goes, as when its process dies
    await wait_until_backend_gone(database_url, owner.pid)
    resumed = await client.post(
        "/api/v1/teams", content=body, headers=json_request(org.admin, "cut")
    )
    replayed = await client.post(
        "/api/v1/teams", content=body, headers=json_request(org.admin, "cut")
    )

    assert resumed.status_code == 201, resumed.text
    assert "idempotent-replayed" not in resumed.headers
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == resumed.content
    assert await team_names(client, org) == ["Resumed"]


async def test_only_one_of_many_retries_takes_over_an_orphaned_claim(
    client: httpx.AsyncClient,
    org: Org,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = json.dumps(team_body(org, "Once")).encode()
    owner_connection = await asyncpg.connect(asyncpg_dsn(database_url))
    owner = await backend_identity(owner_connection)
    await claim_as(sessionmaker, org.admin, "herd", "/api/v1/teams", body, owner)
    await owner_connection.close()
    await wait_until_backend_gone(database_url, owner.pid)

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/teams", content=body, headers=json_request(org.admin, "herd"))
            for _ in range(10)
        )
    )

    fresh = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(fresh) == 1
    assert all(r.status_code in (201, 409) for r in responses)
    assert await team_names(client, org) == ["Once"]


async def test_a_takeover_racing_another_waits_for_it_and_then_finds_its_owner_alive(
    app: FastAPI,
    org: Org,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = json.dumps(team_body(org)).encode()
    owner_connection = await asyncpg.connect(asyncpg_dsn(database_url))
    dead = await backend_identity(owner_connection)
    await claim_as(sessionmaker, org.admin, "race", "/api/v1/teams", body, dead)
    await owner_connection.close()
    await wait_until_backend_gone(database_url, dead.pid)
    principal = read_access_token(app.state.settings.secret, org.admin.token)
    assert principal is not None
    request = _Request(principal, "race", "POST", "/api/v1/teams", hashlib.sha256(body).digest())
    alive = await app.state.process_owner.current()

    async with sessionmaker() as first, sessionmaker() as second:
        assert await _take_over_orphaned_claim(first, request, alive, utc_now())
        racing = asyncio.create_task(_take_over_orphaned_claim(second, request, alive, utc_now()))
        await asyncio.sleep(0.3)
        assert not racing.done()  # it waits on the row the first takeover holds
        await first.commit()
        assert await racing is False  # and re-checks it: the new owner lives
        await second.rollback()


async def test_a_claim_made_for_an_owner_already_gone_records_no_owner(
    app: FastAPI,
    org: Org,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # As behind a pooler that recycled the backend the process took for its own.
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    gone = await backend_identity(connection)
    await connection.close()
    await wait_until_backend_gone(database_url, gone.pid)
    principal = read_access_token(app.state.settings.secret, org.admin.token)
    assert principal is not None
    request = _Request(principal, "k", "POST", "/api/v1/teams", hashlib.sha256(b"{}").digest())

    async with session_scope(sessionmaker) as session:
        assert await _insert_claim(session, request, gone, utc_now())
    async with session_scope(sessionmaker) as session:
        row = (await session.execute(select(IdempotencyKey))).scalar_one()
    # Not a claim any retry could take over at once: it waits out the stale period instead.
    assert (row.owner_pid, row.owner_backend_start) == (None, None)


async def test_an_orphaned_claim_is_not_taken_over_by_another_body(
    client: httpx.AsyncClient,
    org: Org,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = json.dumps(team_body(org, "First")).encode()
    owner_connection = await asyncpg.connect(asyncpg_dsn(database_url))
    owner = await backend_identity(owner_connection)
    await claim_as(sessionmaker, org.admin, "k", "/api/v1/teams", body, owner)
    await owner_connection.close()
    await wait_until_backend_gone(database_url, owner.pid)

    other = json.dumps(team_body(org, "Second")).encode()
    reused = await client.post("/api/v1/teams", content=other, headers=json_request(org.admin, "k"))

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await team_names(client, org) == []


async def test_a_claim_without_an_owner_waits_out_the_stale_period(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = json.dumps(team_body(org, "Late")).encode()
    await claim_as(sessionmaker, org.admin, "old", "/api/v1/teams", body, owner=None)

    busy = await client.post("/api/v1/teams", content=body, headers=json_request(org.admin, "old"))
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utc_now() - STALE_CLAIM - timedelta(seconds=1))
        )
    resumed = await client.post(
        "/api/v1/teams", content=body, headers=json_request(org.admin, "old")
    )

    assert busy.status_code == 409
    assert resumed.status_code == 201, resumed.text
    assert await team_names(client, org) == ["Late"]


async def test_the_owner_connection_is_reopened_when_it_drops(
    app: FastAPI, client: httpx.AsyncClient, org: Org, database_url: str
) -> None:
    process_owner = app.state.process_owner
    before = await process_owner.current()
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", before.pid)
    finally:
        await connection.close()
    after = before
    for _ in range(200):  # the client notices the dropped socket on its next read
        after = await process_owner.current()
        if after != before:
            break
        await asyncio.sleep(0.02)

    response = await client.post(
        "/api/v1/teams", json=team_body(org), headers=keyed(org.admin, "r")
    )
    assert after.pid != before.pid
    assert response.status_code == 201, response.text


# --- Multipart bodies ----------------------------------------------------------------------

STORES_CSV = (
    "code,name,address,lat,lng,geofence_radius_m,customer_type,team\n"
    "M1,Store one,Addr,31.22,121.54,,pharmacy,\n"
    "M2,Store two,Addr,31.23,121.55,,pharmacy,\n"
)


async def upload_stores(
    client: httpx.AsyncClient, actor: Actor, key: str, csv: bytes, boundary: str, filename: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/stores/import",
        files={"file": (filename, csv, "text/csv")},
        headers={**keyed(actor, key), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


async def store_codes(client: httpx.AsyncClient, org: Org) -> list[str]:
    response = await client.get("/api/v1/stores", params={"limit": 200}, headers=org.admin.headers)
    assert response.status_code == 200, response.text
    return sorted(store["code"] for store in response.json()["items"])


async def test_a_retried_upload_with_a_new_boundary_is_replayed(
    client: httpx.AsyncClient, org: Org
) -> None:
    csv = STORES_CSV.encode()
    first = await upload_stores(client, org.admin, "up", csv, "first-attempt", "stores.csv")
    # The same Blob sent again: a new boundary, and a name the client may have changed.
    retry = await upload_stores(client, org.admin, "up", csv, "second-attempt", "blob")

    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert await store_codes(client, org) == ["M1", "M2"]


async def test_the_same_key_with_another_file_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    csv = STORES_CSV.encode()
    first = await upload_stores(client, org.admin, "up", csv, "first-attempt", "stores.csv")
    other = await upload_stores(
        client, org.admin, "up", csv.replace(b"M2", b"M3"), "second-attempt", "stores.csv"
    )

    assert first.status_code == 200, first.text
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert await store_codes(client, org) == ["M1", "M2"]


# --- The crash itself: kill -9 during an import, restart, retry ------------------------------

IMPORT_ROWS = 5_000  # long enough (seconds here) to be cut while it runs


def big_stores_csv() -> bytes:
    header = "code,name,address,lat,lng,geofence_radius_m,customer_type,team\n"
    rows = (f"K{n:05d},Store {n},Road {n},31.2,121.4,,pharmacy,\n" for n in range(IMPORT_ROWS))
    return (header + "".join(rows)).encode()


async def wait_for_claim(database_url: str, key: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for _ in range(3000):
            status = await connection.fetchval(
                "SELECT status FROM idempotency_keys WHERE key = $1", key
            )
            if status == "in_progress":
                return
            assert status is None, "the import finished before it could be cut"
            await asyncio.sleep(0.005)
        raise AssertionError("the import never claimed its key")
    finally:
        await connection.close()


async def count_stores(database_url: str, org: Org) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM stores WHERE org_id = $1", org.id
        )
        return count
    finally:
        await connection.close()


async def post_until_not_busy(
    http: httpx.AsyncClient, csv: bytes, headers: dict[str, str], within_s: float
) -> tuple[httpx.Response, int]:
    """Retry as a client following ``Retry-After`` does; the answer and the 409s seen."""
    deadline = time.monotonic() + within_s
    busy = 0
    while True:
        response = await http.post(
            "/api/v1/stores/import",
            files={"file": ("stores.csv", csv, "text/csv")},
            headers=headers,
        )
        if response.status_code != 409 or time.monotonic() > deadline:
            return response, busy
        busy += 1
        await asyncio.sleep(float(response.headers["retry-after"]))


@pytest.mark.slow
async def test_an_import_cut_by_kill_9_runs_exactly_once_when_retried_after_a_restart(
    org: Org, database_url: str, tmp_path: Path
) -> None:
    csv = big_stores_csv()
    headers = keyed(org.admin, "import-after-crash")

    with server_process(database_url, tmp_path / "first") as (process, base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            upload = asyncio.create_task(
                http.post(
                    "/api/v1/stores/import",
                    files={"file": ("stores.csv", csv, "text/csv")},
                    headers=headers,
                )
            )
            await wait_for_claim(database_url, "import-after-crash")
            process.send_signal(signal.SIGKILL)
            process.wait()
            with pytest.raises(httpx.TransportError):
                await upload
    assert await count_stores(database_url, org) == 0  # cut before it committed

    with running_server(database_url, tmp_path / "second") as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            retried, busy = await post_until_not_busy(http, csv, headers, within_s=15)
            again, _ = await post_until_not_busy(http, csv, headers, within_s=15)

    assert busy <= 2, f"{busy} answers of 409 after the restart"
    assert retried.status_code == 200, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["created"] == IMPORT_ROWS
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == retried.content
    assert await count_stores(database_url, org) == IMPORT_ROWS
