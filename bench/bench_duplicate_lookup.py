"""Duplicate-photo lookup (``photos.service.find_duplicates``) with 1,000,000 stored hashes.

Starts an embedded PostgreSQL in a temporary directory and migrates it; one org, rep and store
are made through the services, and one visit through the check-in service. Then, in SQL:
333,334 visits are copied from that one (status ``submitted``, so none is open), 1,000,000
photos (three kinds per visit) get pseudo-random 64-bit perceptual hashes (from md5, so the run
is repeatable) and taken-at times spread over the last 170 days (all inside the 180-day
duplicate window), and each photo's four 16-bit band keys are written to ``photo_hash_bands``
exactly as ``processing.hash_bands(h, bits_per_band=16)`` computes them (checked on a sample).
Foreign-key triggers are skipped while seeding (``session_replication_role = replica``); the data
is consistent by construction. ``VACUUM ANALYZE`` follows.

Then ``find_duplicates`` is timed on the app's own engine, one session per call (as in a
request): half the queries are near-duplicates of a stored photo (0-6 random bits flipped; the
photo must be found at that distance), half are random hashes. Goal: p95 <= 10 ms. Uniform random
hashes are the friendly case: real pHashes cluster, so real candidate lists are longer.

Usage: python bench/bench_duplicate_lookup.py [--photos N] [--lookups N] [--explain]
"""

import argparse
import asyncio
import gc
import hashlib
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import _harness
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, driver_connection, session_scope
from backend.models import PhotoHashBand
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.photos import processing
from backend.photos import service as photo_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from backend.visits import check_in as visit_check_in
from backend.visits.schemas import CheckInRequest, Position
from backend.visits.service import VisitView

GOAL_MS = 10.0
PASSWORD = "bench-password-123"
KINDS = ("storefront", "shelf", "conversation")
SPREAD_S = 170 * 86_400  # taken_at spread over the last 170 days


@dataclass(frozen=True)
class Base:
    org_id: uuid.UUID
    template_visit_id: uuid.UUID


async def _base(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Base:
    """An org, a rep, a store and one real visit (the template the SQL copies)."""
    async with session_scope(sessionmaker) as session:
        org, admin = await org_service.create_org(session, "Bench org", "bench-admin", PASSWORD)
        rep = await user_service.create_user(
            session,
            org.id,
            UserCreate(username="bench-rep", display_name="Rep", role=Role.rep, password=PASSWORD),
            actor_id=admin.id,
        )
        store = await store_service.create_store(
            session,
            settings,
            org.id,
            StoreCreate(
                code="S1", name="门店 1", lat=31.2304, lng=121.4737, customer_type="pharmacy"
            ),
            actor_id=admin.id,
        )
        now = datetime.now(UTC)
        view = await visit_check_in.check_in(
            await driver_connection(session),
            settings,
            Principal(rep.id, org.id, Role.rep),
            CheckInRequest(
                id=uuid.uuid4(),
                qr=qr.qr_url_for(settings, org, store),
                position=Position(lat=31.2304, lng=121.4737, accuracy_m=10, captured_at=now),
                device_time=now,
            ),
            now,
        )
        if not isinstance(view, VisitView):
            raise RuntimeError("the seed check-in was taken for a replay")
        return Base(org.id, view.visit.id)


async def _copy_visits(connection: AsyncConnection, template: uuid.UUID, count: int) -> None:
    """``count`` submitted visits copied from the template, ids ``md5('v' || g)``."""
    columns = [
        name
        for (name,) in await connection.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'visits' "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position"
        )
    ]
    replaced = {
        "id": "md5('v' || g)::uuid",
        "status": "'submitted'",
        "checked_in_at": "v.checked_in_at - make_interval(secs => g * 44.0)",
    }
    values = ", ".join(replaced.get(c, f"v.{c}") for c in columns)
    await connection.exec_driver_sql(
        f"INSERT INTO visits ({', '.join(columns)}) "  # noqa: S608 - names from the catalog
        f"SELECT {values} FROM visits v, generate_series(0, {count - 1}) g "
        f"WHERE v.id = '{template}'"
    )


def _phash_of(g: int) -> int:
    """The hash the SQL gives photo ``g``: the first 64 bits of md5('h' || g), as int64."""
    digest = hashlib.md5(f"h{g}".encode(), usedforsecurity=False).hexdigest()
    return processing.to_int64(int(digest[:16], 16))


def _photo_id(g: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"p{g}".encode(), usedforsecurity=False).hexdigest())


PHOTOS_SQL = """
INSERT INTO photos (
    id, org_id, visit_id, kind, original_sha256, sha256, phash, width, height, bytes,
    thumb_bytes, storage_key, thumb_key, original_format, original_width, original_height,
    original_bytes, flags, taken_at, created_at, updated_at)
SELECT md5('p' || g)::uuid, '{org}'::uuid, md5('v' || (g / 3))::uuid,
       (ARRAY['storefront', 'shelf', 'conversation'])[g % 3 + 1],
       decode(md5('o' || g) || md5('O' || g), 'hex'),
       decode(md5('s' || g) || md5('S' || g), 'hex'),
       ('x' || substr(md5('h' || g), 1, 16))::bit(64)::bigint,
       1536, 2048, 400000, 20000,
       '{org}/' || md5('v' || (g / 3))::uuid || '/' || g || '.jpg',
       '{org}/' || md5('v' || (g / 3))::uuid || '/' || g || '.thumb.jpg',
       'jpeg', 3024, 4032, 2500000, '[]'::jsonb, t, t, t
FROM generate_series({first}, {last}) g,
     LATERAL (SELECT now() - make_interval(secs => g * {step})) AS at(t)
"""

BANDS_SQL = """
INSERT INTO photo_hash_bands (org_id, band_key, photo_id, owner_id, phash, taken_at)
SELECT p.org_id, ((b << 16) | ((p.phash >> (48 - 16 * b)) & 65535))::int,
       p.id, p.visit_id, p.phash, p.taken_at
FROM photos p CROSS JOIN generate_series(0, 3) b
ORDER BY 2
"""


async def _seed(url: str, settings: Settings, photos: int) -> Base:
    engine = create_engine(url, settings)
    try:
        base = await _base(settings, create_sessionmaker(engine))
        visits = -(-photos // 3)
        step = SPREAD_S / photos
        async with engine.begin() as connection:
            await connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            await connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            await connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            started = time.perf_counter()
            await _copy_visits(connection, base.template_visit_id, visits)
            print(f"  {visits:,} visits in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            chunk = 250_000
            for first in range(0, photos, chunk):
                last = min(photos, first + chunk) - 1
                sql = PHOTOS_SQL.format(org=base.org_id, first=first, last=last, step=step)
                await connection.exec_driver_sql(sql)
            print(f"  {photos:,} photos in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            await connection.exec_driver_sql(BANDS_SQL)
            print(f"  {photos * 4:,} hash bands in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await _harness.vacuum_and_checkpoint(engine, "visits, photos, photo_hash_bands")
        print(f"  VACUUM ANALYZE + CHECKPOINT in {time.perf_counter() - started:.1f} s")
        return base
    finally:
        await engine.dispose()


async def _verify_sample(connection: AsyncConnection, org_id: uuid.UUID, photos: int) -> None:
    """The SQL hashes and band keys are the ones Python computes, on a sample of photos."""
    rng = random.Random(1)
    for g in [0, 1, 2, photos - 1, *rng.sample(range(photos), 20)]:
        photo_id = _photo_id(g)
        phash = (
            await connection.exec_driver_sql(
                f"SELECT phash FROM photos WHERE id = '{photo_id}'"  # noqa: S608
            )
        ).scalar_one()
        bands = sorted(
            key
            for (key,) in await connection.exec_driver_sql(
                "SELECT band_key FROM photo_hash_bands "  # noqa: S608
                f"WHERE org_id = '{org_id}' AND photo_id = '{photo_id}'"
            )
        )
        expected = sorted(processing.hash_bands(_phash_of(g), bits_per_band=16))
        if phash != _phash_of(g) or bands != expected:
            raise RuntimeError(
                f"photo {g}: SQL {phash} {bands} != Python {_phash_of(g)} {expected}"
            )


def _flip(h: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        h ^= 1 << bit
    return processing.to_int64(h)


async def _candidates(session: AsyncSession, org_id: uuid.UUID, phash: int) -> int:
    """Rows the band probe of ``find_duplicates`` reads (before the Hamming check)."""
    keys = processing.probe_keys(
        phash, photo_service.DUPLICATE_MAX_DISTANCE, bits_per_band=photo_service.BAND_BITS
    )
    since = datetime.now(UTC) - photo_service.DUPLICATE_WINDOW
    count = await session.scalar(
        select(func.count()).where(
            PhotoHashBand.org_id == org_id,
            PhotoHashBand.band_key.in_(keys),
            PhotoHashBand.taken_at >= since,
        )
    )
    return int(count or 0)


class GcWatch:
    """Counts the cyclic garbage collector's full (generation 2) passes and their time."""

    def __init__(self) -> None:
        self.full_passes: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.full_passes.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> "GcWatch":
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@dataclass
class Figures:
    times_ms: list[float] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    found: int = 0
    near: int = 0
    matches_random: int = 0
    gc_full_passes_ms: list[float] = field(default_factory=list)
    python_cpu_ms: float = 0.0
    frozen_times_ms: list[float] = field(default_factory=list)
    probe_ms: list[float] = field(default_factory=list)
    probe_sql_hamming_ms: list[float] = field(default_factory=list)


Query = tuple[int, uuid.UUID | None, int]  # (hash, the stored photo it is near, distance)


def _queries(photos: int, lookups: int, rng: random.Random) -> list[Query]:
    queries: list[Query] = []
    for i in range(lookups):
        if i % 2 == 0:
            g = rng.randrange(photos)
            distance = rng.randint(0, photo_service.DUPLICATE_MAX_DISTANCE)
            queries.append((_flip(_phash_of(g), distance, rng), _photo_id(g), distance))
        else:
            queries.append((processing.to_int64(rng.getrandbits(64)), None, -1))
    return queries


async def _lookup(
    sessionmaker: async_sessionmaker[AsyncSession], org_id: uuid.UUID, phash: int
) -> tuple[float, list[photo_service.DuplicateMatch]]:
    """One timed ``find_duplicates`` in its own session, as an upload request would run it."""
    async with sessionmaker() as session:
        started = time.perf_counter()
        matches = await photo_service.find_duplicates(
            session,
            org_id,
            phash=phash,
            original_sha256=random.randbytes(32),
            exclude_owner_id=uuid.uuid4(),
            now=datetime.now(UTC),
        )
        return (time.perf_counter() - started) * 1000, matches


PROBE_SQL = (
    "SELECT DISTINCT photo_id, owner_id, phash, taken_at FROM photo_hash_bands "
    "WHERE org_id = $1 AND band_key = ANY($2::int[]) AND taken_at >= $3 AND owner_id <> $4"
)
PROBE_SQL_HAMMING = PROBE_SQL + " AND bit_count((phash # $5)::bit(64)) <= $6"


async def _probe_only(
    engine: AsyncEngine, org_id: uuid.UUID, queries: list[Query], figures: Figures
) -> None:
    """The band probe alone on a bare asyncpg connection: as the app sends it (every candidate
    comes back) and with the Hamming check done in SQL (only matches come back)."""
    since = datetime.now(UTC) - photo_service.DUPLICATE_WINDOW
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for phash, _, _ in queries:
            keys = processing.probe_keys(
                phash, photo_service.DUPLICATE_MAX_DISTANCE, bits_per_band=photo_service.BAND_BITS
            )
            started = time.perf_counter()
            await driver.fetch(PROBE_SQL, org_id, keys, since, uuid.uuid4())
            figures.probe_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await driver.fetch(
                PROBE_SQL_HAMMING,
                org_id,
                keys,
                since,
                uuid.uuid4(),
                phash,
                photo_service.DUPLICATE_MAX_DISTANCE,
            )
            figures.probe_sql_hamming_ms.append((time.perf_counter() - started) * 1000)


async def _measure(url: str, settings: Settings, base: Base, photos: int, lookups: int) -> Figures:
    engine = create_engine(url, settings)
    sessionmaker = create_sessionmaker(engine)
    rng = random.Random(7)
    figures = Figures()
    try:
        async with engine.connect() as connection:
            await _verify_sample(connection, base.org_id, photos)
        queries = _queries(photos, lookups, rng)
        twins = _queries(photos, lookups, rng)  # same mix, for the diagnostic pass below
        for _ in range(50):  # warm-up: connections, statement caches, hot index pages
            await _lookup(sessionmaker, base.org_id, processing.to_int64(rng.getrandbits(64)))

        cpu_started = time.process_time()
        with GcWatch() as watch:
            for phash, expected, distance in queries:
                took, matches = await _lookup(sessionmaker, base.org_id, phash)
                figures.times_ms.append(took)
                if expected is None:
                    figures.matches_random += len(matches)
                    continue
                figures.near += 1
                if any(m.photo_id == expected and m.distance == distance for m in matches):
                    figures.found += 1
        figures.gc_full_passes_ms = watch.full_passes
        figures.python_cpu_ms = (time.process_time() - cpu_started) * 1000 / len(queries)

        # Diagnostic (after the timed pass, so a little warmer): other queries of the same mix
        # with the heap that exists by then frozen out of the cyclic garbage collector.
        gc.freeze()
        try:
            for phash, _, _ in twins:
                figures.frozen_times_ms.append((await _lookup(sessionmaker, base.org_id, phash))[0])
        finally:
            gc.unfreeze()

        async with sessionmaker() as session:  # untimed: how many rows each probe read
            for phash, _, _ in queries:
                figures.candidates.append(await _candidates(session, base.org_id, phash))
        await _probe_only(engine, base.org_id, queries[:200], figures)
        return figures
    finally:
        await engine.dispose()


async def _explain(url: str, settings: Settings, base: Base) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the band probe for one random hash, as the app sends it."""
    engine = create_engine(url, settings)
    phash = processing.to_int64(random.Random(3).getrandbits(64))
    keys = processing.probe_keys(
        phash, photo_service.DUPLICATE_MAX_DISTANCE, bits_per_band=photo_service.BAND_BITS
    )
    since = datetime.now(UTC) - timedelta(days=180)
    sql = (
        "EXPLAIN (ANALYZE, BUFFERS) SELECT DISTINCT photo_id, owner_id, phash, taken_at "
        "FROM photo_hash_bands WHERE org_id = $1 AND band_key = ANY($2::int[]) "
        "AND taken_at >= $3 AND owner_id != $4"
    )
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            rows = await driver.fetch(sql, base.org_id, keys, since, uuid.uuid4())
            return "\n".join(str(row[0]) for row in rows)
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--explain", action="store_true", help="print the probe's plan anyway")
    args = parser.parse_args()

    with _harness.migrated_postgres("doorstep-bench-dup-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        print(f"seeding {args.photos:,} photos:")
        base = asyncio.run(_seed(url, settings, args.photos))
        print(f"  seeded in {time.perf_counter() - started:.1f} s")
        figures = asyncio.run(_measure(url, settings, base, args.photos, args.lookups))
        times = figures.times_ms
        p95 = _harness.percentile(times, 95)
        plan = asyncio.run(_explain(url, settings, base)) if args.explain or p95 > GOAL_MS else ""

    keys = len(processing.probe_keys(0, photo_service.DUPLICATE_MAX_DISTANCE, bits_per_band=16))
    print(
        f"find_duplicates over {args.photos:,} stored hashes ({args.photos * 4:,} band rows), "
        f"{len(times)} lookups, {keys} band keys probed each, one session per lookup"
    )
    print(f"  {_harness.timing_summary(times)}")
    print(
        f"  candidates read per lookup: mean {statistics.mean(figures.candidates):.0f}, "
        f"max {max(figures.candidates)}"
    )
    print(
        f"  near-duplicates (0-{photo_service.DUPLICATE_MAX_DISTANCE} bits flipped) found: "
        f"{figures.found}/{figures.near}; matches for random hashes: {figures.matches_random}"
    )
    print(f"  goal p95 <= {GOAL_MS:.0f} ms: {'OK' if p95 <= GOAL_MS else 'OVER GOAL'}")
    passes = figures.gc_full_passes_ms
    print("diagnostics:")
    print(
        f"  Python CPU in this process per timed lookup: {figures.python_cpu_ms:.2f} ms "
        "(SQLAlchemy rows, Hamming check, the SHA-256 query; PostgreSQL not counted)"
    )
    print(
        f"  full (gen-2) garbage collections during the timed lookups: {len(passes)}"
        + (f", {statistics.mean(passes):.0f} ms each" if passes else "")
        + f" ({len(gc.get_objects()):,} objects tracked)"
    )
    frozen = f"next {len(figures.frozen_times_ms)}, after gc.freeze():"
    print(f"  {frozen:<40} {_harness.timing_summary(figures.frozen_times_ms)}")
    alone = "band probe alone, every candidate back:"
    print(f"  {alone:<40} {_harness.timing_summary(figures.probe_ms)}")
    hamming = "band probe alone, Hamming check in SQL:"
    print(f"  {hamming:<40} {_harness.timing_summary(figures.probe_sql_hamming_ms)}")
    if plan:
        print("  plan of the band probe (one random hash):")
        print("\n".join("    " + line for line in plan.splitlines()))
    if figures.found != figures.near:
        print("FAILED: some near-duplicates were not found")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
