"""Change-feed read throughput (events/s): following a whole organization's feed, 1,000 a page.

Starts an embedded PostgreSQL in a temporary directory and migrates it; one org is made through
the services. Then ``--events`` events are written in SQL (``generate_series``), 1,000 per
transaction so that the feed's (txid, seq) order spans many transactions as in real use, mixed
types with payloads the size of a check-in's; a second org gets a tenth as many (the index is
shared). ``VACUUM ANALYZE`` follows.

Then the whole feed is followed from the start, ``limit=1000``, twice:
- ``read_after``: the service, one session (one transaction) per page, as the webhook dispatcher
  reads it;
- ``GET /api/v1/events``: the app in-process (httpx's ASGI transport) with an admin's token, so
  the figure includes authentication, the response models and JSON encoding (no sockets).
Each checks that it saw every event of the org exactly once.

Usage: python bench/bench_feed.py [--events N]   (``--events 1000000`` for the 1 M figure)
"""

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import _harness
import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.events import feed
from backend.main import create_app
from backend.orgs import service as org_service

PAGE = 1000
PER_TRANSACTION = 1000

INSERT_SQL = """
INSERT INTO events (id, org_id, type, subject_type, subject_id, actor_id, payload, occurred_at)
SELECT gen_random_uuid(), $1,
       (ARRAY['visit.checked_in', 'visit.submitted', 'visit.approved',
              'visit.abandoned'])[1 + g % 4],
       'visit', gen_random_uuid(), $2,
       jsonb_build_object('store_id', gen_random_uuid(), 'trust_score', 90 - g % 7,
                          'flags', '[]'::jsonb, 'submit_count', 1, 'comment', NULL,
                          'rep_id', $2::uuid),
       now() - make_interval(secs => $4 - g)
  FROM generate_series($3::int, $4::int) AS g
"""


async def write_events(dsn: str, org_id: uuid.UUID, actor_id: uuid.UUID, count: int) -> float:
    """``count`` events for the org, ``PER_TRANSACTION`` per transaction; seconds taken."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        for first in range(1, count + 1, PER_TRANSACTION):
            last = min(count, first + PER_TRANSACTION - 1)
            await connection.execute(INSERT_SQL, org_id, actor_id, first, last)
    finally:
        await connection.close()
    return time.perf_counter() - started


async def follow_service(settings: Settings, org_id: uuid.UUID) -> tuple[int, float]:
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    sessionmaker = create_sessionmaker(engine)
    seen: set[uuid.UUID] = set()
    count = 0
    position: feed.Position | None = None
    try:
        started = time.perf_counter()
        while True:
            async with session_scope(sessionmaker) as session:
                page = await feed.read_after(session, org_id, position, PAGE)
            count += len(page.events)
            seen.update(e.id for e in page.events)
            position = page.next
            if not page.has_more:
                break
        took = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert count == len(seen), "an event was read twice"
    return count, took


async def follow_http(settings: Settings) -> tuple[int, float]:
    app = create_app(settings)
    seen: set[str] = set()
    count = 0
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await client.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "bench-admin",
                    "password": _harness.PASSWORD,
                },
            )
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            params: dict[str, str | int] = {"limit": PAGE}
            started = time.perf_counter()
            while True:
                response = await client.get("/api/v1/events", params=params, headers=headers)
                response.raise_for_status()
                body = response.json()
                count += len(body["items"])
                seen.update(item["id"] for item in body["items"])
                params["cursor"] = body["next_cursor"]
                if not body["has_more"]:
                    break
            took = time.perf_counter() - started
    assert count == len(seen), "an event was read twice"
    return count, took


async def other_org(settings: Settings) -> uuid.UUID:
    """A second organization, whose events share the index with the bench org's."""
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            org, _ = await org_service.create_org(
                session, "Other", "other-admin", _harness.PASSWORD
            )
            return org.id
    finally:
        await engine.dispose()


async def run(events: int, url: str, tmp: Path) -> int:
    settings = _harness.bench_settings(url, tmp / "data")
    org, store = await _harness.seed_org(settings)
    other_id = await other_org(settings)
    dsn = _harness.asyncpg_dsn(url)
    actor = store.id  # any uuid: actor_id has no foreign key
    took = await write_events(dsn, org.id, actor, events)
    await write_events(dsn, other_id, actor, max(1, events // 10))
    engine = create_engine(url, settings)
    try:
        await _harness.vacuum_and_checkpoint(engine, "events")
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(dsn)
    try:
        expected = await connection.fetchval(
            "SELECT count(*) FROM events WHERE org_id = $1", org.id
        )
    finally:
        await connection.close()
    print(f"seeded {events:,} events in {took:.1f} s ({expected:,} in the org, with its own)")

    failed = False
    for name, follower in (
        ("read_after (service)", follow_service(settings, org.id)),
        ("GET /api/v1/events", follow_http(settings)),
    ):
        count, seconds = await follower
        ok = count == expected
        failed |= not ok
        print(
            f"{name:<22} {count:>10,} events in {seconds:6.2f} s: "
            f"{count / seconds:>9,.0f} events/s ({count // PAGE + 1} pages of {PAGE})"
            + ("" if ok else f"  MISMATCH: expected {expected:,}")
        )
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the org's feed")
    args = parser.parse_args()
    # Migrations run their own event loop: the database is made before ours starts.
    with _harness.migrated_postgres("doorstep-bench-feed-") as (url, tmp):
        return asyncio.run(run(args.events, url, tmp))


if __name__ == "__main__":
    sys.exit(main())
