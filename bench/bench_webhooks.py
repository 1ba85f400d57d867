"""Webhook commit-to-delivery latency (p50/p95): 1,000 events to one endpoint, and to 10.

Starts an embedded PostgreSQL in a temporary directory and migrates it; one org is made through
the services, and its endpoints (``http://127.0.0.1:<port>/e<i>``, every event type) through the
webhooks service. The real app then runs as a ``uvicorn`` process with its scheduler (and so the
webhook sender loop) on and ``127.0.0.1`` an allowed webhook host. The receiver is an asyncio HTTP
server in this process (``tests.factories.webhook_receiver``) answering 200 at once.

Events are written in SQL, one transaction each, at ``--rate`` per second; each one's commit time
is read right after its ``COMMIT`` returns. Latency is the receiver's arrival time of the request
with that ``webhook-id`` minus that commit time (one clock: both are this process's
``time.monotonic()``). It includes the dispatcher's and sender's polling (0.5 s when idle), the
feed's wait for older transactions, the database round trips, signing and the HTTP request. With
10 endpoints every event is 10 deliveries, sent side by side (one in flight per endpoint).

Usage: python bench/bench_webhooks.py [--events N] [--rate R]   (defaults: 1000, 100/s)
"""

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import _harness
import asyncpg

from backend.auth.principal import Principal
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models.user import Role
from backend.webhooks import service as webhook_service
from backend.webhooks.schemas import WebhookEndpointCreate

sys.path.insert(0, str(_harness.ROOT))
from tests.factories.webhook_receiver import Receiver, receiving

ALLOWED = ("127.0.0.1",)
INSERT_SQL = """
INSERT INTO events (id, org_id, type, subject_type, subject_id, actor_id, payload)
VALUES ($1, $2, 'store.updated', 'store', $3, NULL,
        jsonb_build_object('code', 'B-1', 'name', '老百姓大药房', 'changed', '["name"]'::jsonb))
"""


async def make_endpoints(url: str, data_dir: Path, org_id: uuid.UUID, admin_id: uuid.UUID,
                         urls: list[str]) -> None:  # fmt: skip
    settings = _harness.bench_settings(url, data_dir, webhook_allowed_hosts=ALLOWED)
    engine = create_engine(url, settings)
    admin = Principal(user_id=admin_id, org_id=org_id, role=Role.admin)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            for endpoint_url in urls:
                await webhook_service.create_endpoint(
                    session, admin, WebhookEndpointCreate(url=endpoint_url, event_types=["*"]),
                    ALLOWED, utc_now(),
                )  # fmt: skip
    finally:
        await engine.dispose()


async def write_events(dsn: str, org_id: uuid.UUID, count: int, rate: float) -> dict[str, float]:
    """``count`` events, one per transaction, paced at ``rate``/s: event id -> commit time."""
    committed: dict[str, float] = {}
    connection = await asyncpg.connect(dsn)
    started = time.monotonic()
    try:
        for n in range(count):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            event_id = uuid.uuid4()
            await connection.execute(INSERT_SQL, event_id, org_id, uuid.uuid4())
            committed[str(event_id)] = time.monotonic()
    finally:
        await connection.close()
    return committed


async def wait_all(receiver: Receiver, paths: list[str], count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while any(len(receiver.at(p)) < count for p in paths):
        if time.monotonic() > deadline:
            got = {p: len(receiver.at(p)) for p in paths}
            raise RuntimeError(f"not every delivery arrived within {timeout_s:.0f} s: {got}")
        await asyncio.sleep(0.05)


async def run_case(dsn: str, org_id: uuid.UUID, receiver: Receiver, paths: list[str],
                   events: int, rate: float) -> list[float]:  # fmt: skip
    before = {p: len(receiver.at(p)) for p in paths}
    committed = await write_events(dsn, org_id, events, rate)
    await wait_all(receiver, paths, events + max(before.values()), 120 + events / 10)
    latencies: list[float] = []
    for path in paths:
        for request in receiver.at(path)[before[path] :]:
            if request.webhook_id in committed:
                latencies.append((request.at - committed[request.webhook_id]) * 1000)
        ids = [r.webhook_id for r in receiver.at(path)[before[path] :]]
        assert len(ids) == len(set(ids)) == events, f"{path}: duplicates or missing"
    return latencies


def main(events: int, rate: float) -> None:
    with _harness.migrated_postgres("doorstep-bench-webhooks-") as (url, tmp):
        asyncio.run(measure(url, tmp, events, rate))


async def measure(url: str, tmp: Path, events: int, rate: float) -> None:
    settings = _harness.bench_settings(url, tmp / "data")
    org, _store = await _harness.seed_org(settings)
    dsn = _harness.asyncpg_dsn(url)
    connection = await asyncpg.connect(dsn)
    admin_id = await connection.fetchval(
        "SELECT id FROM users WHERE org_id = $1 AND role = 'admin'", org.id
    )
    await connection.close()
    async with receiving() as receiver:
        # Endpoint e0 alone first; then e0 is disabled and e1..e10 join.
        await make_endpoints(url, tmp / "data", org.id, admin_id, [receiver.url("/e0")])
        env = _harness.app_env(url, tmp / "data")
        env.update(DOORSTEP_SCHEDULER_ENABLED="true", DOORSTEP_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "server.log"):
            print(f"{events} events at {rate:g}/s, one transaction each")
            one = await run_case(dsn, org.id, receiver, ["/e0"], events, rate)
            print(f"  1 endpoint:    p50 {_harness.percentile(one, 50):7.1f} ms"
                  f"   p95 {_harness.percentile(one, 95):7.1f} ms"
                  f"   max {max(one):7.1f} ms   ({len(one)} deliveries)")  # fmt: skip
            # e0 leaves (PATCH would do; here: a disabled flag in SQL) and ten join.
            connection = await asyncpg.connect(dsn)
            await connection.execute("UPDATE webhook_endpoints SET enabled = false")
            await connection.close()
            paths = [f"/e{i}" for i in range(1, 11)]
            await make_endpoints(
                url, tmp / "data", org.id, admin_id, [receiver.url(p) for p in paths]
            )
            ten = await run_case(dsn, org.id, receiver, paths, events, rate)
            print(f"  10 endpoints:  p50 {_harness.percentile(ten, 50):7.1f} ms"
                  f"   p95 {_harness.percentile(ten, 95):7.1f} ms"
                  f"   max {max(ten):7.1f} ms   ({len(ten)} deliveries)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    main(args.events, args.rate)
