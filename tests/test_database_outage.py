"""PostgreSQL stopped under load, against a real server process: while it is down every request
that needs it gets ``503 database_unavailable`` with ``Retry-After`` on the same keep-alive
connection (no 500, no dropped connection), ``/readyz`` answers 503, and once it is back every
check-in retried with its client-generated id exists exactly once.

The test owns its cluster (the session's shared one serves every other test), stops it with
``pg_ctl`` and starts it again on the same socket.
"""

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend import migrate
from backend.kit.embedded_postgres import EmbeddedPostgres
from backend.kit.time import utc_now
from backend.orgs import service as org_service
from tests import pg_ctl
from tests.factories.stores import create_store
from tests.factories.visits import check_in_body
from tests.factories.world import access_token, seeding
from tests.server import running_server

PASSWORD = "outage-password-123"
REPS = 6  # checking in all along
LATE_REPS = 3  # checking in once, from the middle of the outage


@dataclass
class Cluster:
    url: str
    pgdata: Path
    data_dir: Path


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    # Not under pytest's tmp_path: as root the cluster runs as another user (see conftest).
    base = Path(tempfile.mkdtemp(prefix="doorstep-outage-"))
    embedded = EmbeddedPostgres(base)
    url = await asyncio.to_thread(embedded.start)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield Cluster(url, embedded.pgdata, base / "data")
    finally:
        if pg_ctl.postmaster_pid(embedded.pgdata) is None:  # a failed test left it stopped
            await asyncio.to_thread(pg_ctl.start, embedded.pgdata, str(embedded.pgdata))
        await asyncio.to_thread(embedded.stop)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Seen:
    """One answer (or a transport failure) and when its request was sent and answered."""

    worker: str
    what: str
    sent: float
    received: float
    status: int | None  # None: the connection failed
    code: str | None = None
    retry_after: str | None = None
    content_type: str | None = None
    client_addr: Any = None


@dataclass
class Load:
    seen: list[Seen] = field(default_factory=list)
    visit_ids: list[uuid.UUID] = field(default_factory=list)
    retried_ids: set[uuid.UUID] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(
        self,
        worker: str,
        what: str,
        request: Callable[[], Awaitable[httpx.Response]],
    ) -> Seen:
        sent = time.monotonic()
        try:
            response = await request()
        except httpx.TransportError as exc:
            record = Seen(worker, f"{what}: {exc!r}", sent, time.monotonic(), None)
        else:
            code = None
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                code = response.json().get("code")
            record = Seen(
                worker,
                what,
                sent,
                time.monotonic(),
                response.status_code,
                code,
                response.headers.get("retry-after"),
                response.headers.get("content-type"),
                _client_addr(response),
            )
        self.seen.append(record)
        return record

    async def until_done(
        self,
        worker: str,
        what: str,
        request: Callable[[], Awaitable[httpx.Response]],
        done: set[int],
        done_after_retry: frozenset[int] = frozenset(),
    ) -> int:
        """Retry (past 503s) until the request succeeds, as a phone's queue does."""
        retried = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = await self.call(worker, what, request)
            if record.status in done or (retried and record.status in done_after_retry):
                assert record.status is not None
                return record.status
            if record.status != 503:
                raise AssertionError(f"{worker} {what}: {record.status} {record.code}")
            retried = True
            await asyncio.sleep(0.1)
        raise AssertionError(f"{worker} {what} did not succeed within 60 s")


def _client_addr(response: httpx.Response) -> Any:
    """The local address of the connection that carried ``response``: a worker whose
    connection the server closed shows a second one (or "closed")."""
    stream = response.extensions.get("network_stream")
    try:
        return stream.get_extra_info("client_addr") if stream is not None else None
    except OSError:
        return "closed"


def _client(base_url: str) -> httpx.AsyncClient:
    # One connection per worker: a server that dropped it would show as a second client port.
    return httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=1))


def _check_in_body(visit_id: uuid.UUID, qr: str) -> dict[str, Any]:
    now = utc_now()
    return check_in_body(qr, accuracy_m=10, captured_at=now, device_time=now, visit_id=visit_id)


async def _abandon(
    load: Load,
    name: str,
    client: httpx.AsyncClient,
    visit_id: uuid.UUID,
    headers: dict[str, str],
    done_after_retry: frozenset[int] = frozenset(),
) -> None:
    await load.until_done(
        name,
        "abandon",
        partial(
            client.post,
            f"/api/v1/visits/{visit_id}/abandon",
            json={"reason": "outage"},
            headers=headers,
        ),
        done={200},
        done_after_retry=done_after_retry,
    )


async def _rep_worker(
    load: Load, name: str, token: str, qr: str, client: httpx.AsyncClient
) -> None:
    """Check in, give the visit up (one open visit per rep), read it; again and again."""
    headers = {"Authorization": f"Bearer {token}"}
    while not load.stop.is_set():
        visit_id = uuid.uuid4()
        load.visit_ids.append(visit_id)
        body = _check_in_body(visit_id, qr)
        await load.until_done(
            name,
            "check-in",
            partial(client.post, "/api/v1/visits", json=body, headers=headers),
            done={200, 201},
        )
        # A 409 after a retry: the attempt that got 503 had committed after all.
        await _abandon(load, name, client, visit_id, headers, done_after_retry=frozenset({409}))
        await load.until_done(
            name,
            "get visit",
            partial(client.get, f"/api/v1/visits/{visit_id}", headers=headers),
            done={200},
        )


async def _late_check_in(
    load: Load, name: str, token: str, qr: str, client: httpx.AsyncClient
) -> None:
    """One check-in begun during the outage (with an ``Idempotency-Key`` too), retried until it
    lands, then given up."""
    visit_id = uuid.uuid4()
    load.visit_ids.append(visit_id)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"late-{visit_id}"}
    await load.until_done(
        name,
        "check-in",
        partial(client.post, "/api/v1/visits", json=_check_in_body(visit_id, qr), headers=headers),
        done={200, 201},
    )
    load.retried_ids.add(visit_id)
    await _abandon(load, name, client, visit_id, {"Authorization": f"Bearer {token}"})


async def _reader(load: Load, token: str, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while not load.stop.is_set():
        listed = partial(client.get, "/api/v1/visits?limit=5", headers=headers)
        await load.until_done("reader", "list", listed, {200})
        await load.until_done(
            "reader", "me", partial(client.get, "/api/v1/me", headers=headers), {200}
        )
        await asyncio.sleep(0.02)


async def _seed(url: str, data_dir: Path) -> str:
    async with seeding(url, data_dir=data_dir) as (session, _):
        await org_service.create_org(session, "Outage Org", "outage-admin", PASSWORD)
    return "outage-admin"


async def test_database_stopped_under_load_answers_503_and_recovers(cluster: Cluster) -> None:
    admin_name = await _seed(cluster.url, cluster.data_dir)
    with running_server(cluster.url, cluster.data_dir) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as setup:
            admin = {"Authorization": f"Bearer {await access_token(setup, admin_name, PASSWORD)}"}
            store = await create_store(setup, admin, code="OUT-1")
            qr = store["qr_url"]
            assert qr, "an admin's store answer carries its door code"
            tokens: dict[str, str] = {}
            rep_ids: list[uuid.UUID] = []
            for n in range(REPS + LATE_REPS):
                name = f"outage-rep{n}"
                created = await setup.post(
                    "/api/v1/users",
                    json={
                        "username": name,
                        "display_name": name,
                        "role": "rep",
                        "password": PASSWORD,
                    },
                    headers=admin,
                )
                assert created.status_code == 201, created.text
                rep_ids.append(uuid.UUID(created.json()["id"]))
                tokens[name] = await access_token(setup, name, PASSWORD)
        steady = dict(list(tokens.items())[:REPS])
        late = dict(list(tokens.items())[REPS:])

        load = Load()
        clients = {name: _client(base_url) for name in [*tokens, "reader", "probe"]}
        workers = [
            asyncio.create_task(_rep_worker(load, name, token, qr, clients[name]))
            for name, token in steady.items()
        ]
        workers.append(asyncio.create_task(_reader(load, tokens["outage-rep0"], clients["reader"])))
        probe = clients["probe"]
        try:
            await asyncio.sleep(1.5)
            socket = pg_ctl.socket_dir(cluster.pgdata)
            await asyncio.to_thread(pg_ctl.stop, cluster.pgdata)
            outage_from = time.monotonic()
            workers += [
                asyncio.create_task(_late_check_in(load, name, token, qr, clients[name]))
                for name, token in late.items()
            ]
            ready_during = []
            while time.monotonic() < outage_from + 3:
                ready_during.append(
                    await load.call("probe", "readyz", partial(probe.get, "/readyz"))
                )
                await asyncio.sleep(0.25)
            outage_to = time.monotonic()
            await asyncio.to_thread(pg_ctl.start, cluster.pgdata, socket)
            deadline = time.monotonic() + 20
            while (await load.call("probe", "readyz", partial(probe.get, "/readyz"))).status != 200:
                assert time.monotonic() < deadline, "/readyz did not recover"
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)
        finally:
            load.stop.set()
            results = await asyncio.gather(*workers, return_exceptions=True)
            for client in clients.values():
                await client.aclose()
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, failures

    dropped = [s for s in load.seen if s.status is None]
    assert not dropped, dropped[:5]
    unexpected = {(s.what, s.status, s.code) for s in load.seen if s.status not in (200, 201, 503)}
    assert not unexpected, unexpected
    unavailable = [s for s in load.seen if s.status == 503]
    for s in unavailable:
        assert s.code == "database_unavailable", s
        assert s.content_type == "application/problem+json", s
        assert s.retry_after is not None and s.retry_after.isdigit(), s
    # Sent after the stop, answered before the start: nothing but 503 (every route here needs
    # the database), for the check-ins, the idempotent ones, the reads and /readyz alike.
    during = [s for s in load.seen if s.sent > outage_from and s.received < outage_to]
    assert during and all(s.status == 503 for s in during), {(s.what, s.status) for s in during}
    assert {s.worker for s in during} >= set(late) | {"probe"}
    assert ready_during and all(s.status == 503 for s in ready_during)
    # Keep-alive held: each worker talked over one connection all along, outage included.
    for worker in clients:
        addresses = {s.client_addr for s in load.seen if s.worker == worker}
        assert len(addresses) == 1, (worker, addresses)
    # After the restart every worker got through again.
    for worker in clients:
        last = [s for s in load.seen if s.worker == worker][-1]
        assert last.status in (200, 201), (worker, last)

    # Every id was checked in exactly once, the late ones included, and nothing else was.
    connection = await asyncpg.connect(cluster.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await connection.fetch(
            "SELECT id, status FROM visits WHERE rep_id = ANY($1::uuid[])", rep_ids
        )
    finally:
        await connection.close()
    stored = [row["id"] for row in rows]
    assert len(stored) == len(set(stored)) == len(load.visit_ids)
    assert set(stored) == set(load.visit_ids)
    assert load.retried_ids <= set(stored)
    assert {row["status"] for row in rows} == {"abandoned"}
