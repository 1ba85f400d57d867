"""Check-in throughput against a bare FastAPI + asyncpg INSERT endpoint, and its tail latency.

``POST /api/v1/visits`` on the real app (uvicorn, 1 worker, the app's own pool) is compared with
a bare FastAPI app in this file (uvicorn, 1 worker, an asyncpg pool of the same size) whose one
``POST /checkins`` endpoint parses a body of the same shape with Pydantic and INSERTs one row into
a scratch table of the same PostgreSQL. Both are loaded the same way: 32 keep-alive connections,
each sending its next request as soon as the previous answer is read. Goal: check-in requests/s
>= 0.6 x the bare endpoint's; the p99 at 32 concurrent connections is reported.

A third server runs the same app with one extra endpoint, ``POST /bench/floor``: the same
middleware, bearer token and request body as a check-in, then one ``SELECT 1`` on the SQL pool.
It does less than any check-in could, so its ratio is the ceiling for this stack.

Every timed check-in is a real, first-time check-in that must succeed (201): a rep may have only
one open visit, so each check-in is made by its own rep (3,200 reps are seeded in SQL, sharing
one argon2 hash made by the users service). No abandon requests or SQL clean-up run during the
measurement. Access tokens: one rep signs in through ``POST /api/v1/auth/token`` to check the
path; the rest are issued with the server's own token function and secret (3,200 argon2
verifications would take over a minute of the same CPU). The reps have no visit history, so
the impossible-travel and same-store look-ups find nothing (they are indexed either way).

The requests are spread over rounds (bare, check-in, bare, check-in, ...) so that drift hits
both alike. The load generator runs on the same machine and shares its cores with the servers
and PostgreSQL; it is a minimal asyncio HTTP/1.1 client with pre-encoded requests so that it
takes as little of that CPU as possible.

Usage: python bench/bench_check_in.py [--requests N] [--concurrency N] [--rounds N]
"""

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import _harness
import asyncpg
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field
from sqlalchemy import insert

from backend.auth.principal import Principal
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.models import LoginName, User
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate

GOAL_RATIO = 0.6
PASSWORD = "bench-password-123"
CENTRE = (31.2304, 121.4737)
STORES = 32
WARMUP = 200
BASELINE_DSN_ENV = "BENCH_BASELINE_DSN"
BASELINE_POOL_ENV = "BENCH_BASELINE_POOL"
BASELINE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_baseline_checkins (
    id uuid PRIMARY KEY,
    qr text NOT NULL,
    lat double precision NOT NULL,
    lng double precision NOT NULL,
    accuracy_m double precision NOT NULL,
    captured_at timestamptz NOT NULL,
    device_time timestamptz NOT NULL,
    queued_offline boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""


# --- the bare baseline app (run by uvicorn: ``bench_check_in:create_baseline_app``) -------------


class BaselinePosition(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0, le=100_000)
    captured_at: datetime


class BaselineCheckIn(BaseModel):
    id: uuid.UUID
    qr: str = Field(min_length=1, max_length=2048)
    position: BaselinePosition
    device_time: datetime
    queued_offline: bool = False


class BaselineCreated(BaseModel):
    id: uuid.UUID
    received_at: datetime


def create_baseline_app() -> FastAPI:
    dsn = os.environ[BASELINE_DSN_ENV]
    pool_size = int(os.environ.get(BASELINE_POOL_ENV, "10"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/checkins", status_code=201, response_model=BaselineCreated)
    async def check_in(body: BaselineCheckIn, request: Request) -> BaselineCreated:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            received_at = await connection.fetchval(
                "INSERT INTO bench_baseline_checkins"
                " (id, qr, lat, lng, accuracy_m, captured_at, device_time, queued_offline)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING received_at",
                body.id,
                body.qr,
                body.position.lat,
                body.position.lng,
                body.position.accuracy_m,
                body.position.captured_at,
                body.device_time,
                body.queued_offline,
            )
        return BaselineCreated(id=body.id, received_at=received_at)

    return app


def create_floor_app() -> FastAPI:
    """The real app plus one endpoint that does what every check-in must and nothing more:
    the same middleware, bearer-token decoding, request body and one statement on the SQL
    pool (the token's claims only: the check-in folds the is-the-user-still-current check into
    its own read, so the floor stays the same reference before and after that check). It is
    the ceiling for any check-in written on this stack, measured alongside."""
    from backend.auth.dependencies import TokenPrincipal
    from backend.kit.deps import SqlConnectionDep
    from backend.main import create_app
    from backend.visits.schemas import CheckInRequest

    app = create_app()

    @app.post("/bench/floor", status_code=201)
    async def floor(
        connection: SqlConnectionDep, principal: TokenPrincipal, body: CheckInRequest
    ) -> dict[str, str]:
        await connection.fetchval("SELECT 1")
        return {"id": str(body.id), "rep_id": str(principal.user_id)}

    # Ahead of the PWA's catch-all, which answers whatever no earlier route did.
    app.router.routes.insert(0, app.router.routes.pop())
    return app


# --- seeding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    org_id: uuid.UUID
    rep_ids: list[uuid.UUID]
    first_rep_username: str
    stores: list[tuple[str, float, float]]  # (qr_url, lat, lng)


async def _seed(settings: Settings, url: str, reps: int) -> Seeded:
    engine = create_engine(url, settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with session_scope(sessionmaker) as session:
            org, admin = await org_service.create_org(session, "Bench org", "bench-admin", PASSWORD)
            first = await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username="rep00000", display_name="Rep 0", role=Role.rep, password=PASSWORD
                ),
                actor_id=admin.id,
            )
            rep_ids = [first.id]
            users: list[dict[str, object]] = []
            names: list[dict[str, object]] = []
            for i in range(1, reps):
                user_id = uuid.uuid4()
                rep_ids.append(user_id)
                username = f"rep{i:05d}"
                users.append(
                    {
                        "id": user_id,
                        "org_id": org.id,
                        "username": username,
                        "display_name": f"Rep {i}",
                        "role": Role.rep,
                        "password_hash": first.password_hash,
                        "locale": "zh-CN",
                        "is_active": True,
                    }
                )
                names.append({"username": username, "org_id": org.id, "user_id": user_id})
            for start in range(0, len(users), 1000):
                await session.execute(insert(User).values(users[start : start + 1000]))
                await session.execute(insert(LoginName).values(names[start : start + 1000]))
            stores: list[tuple[str, float, float]] = []
            for i in range(STORES):
                lat, lng = CENTRE[0] + (i % 8) * 0.01, CENTRE[1] + (i // 8) * 0.01
                store = await store_service.create_store(
                    session,
                    settings,
                    org.id,
                    StoreCreate(
                        code=f"S{i:03d}",
                        name=f"益丰大药房 {i} 号店",
                        address=f"上海市 某路 {i} 号",
                        lat=lat,
                        lng=lng,
                        customer_type="pharmacy",
                    ),
                    actor_id=admin.id,
                )
                stores.append((qr.qr_url_for(settings, org, store), lat, lng))
        async with engine.begin() as connection:
            await connection.exec_driver_sql(BASELINE_TABLE)
            await connection.exec_driver_sql("ANALYZE")
        return Seeded(org.id, rep_ids, "rep00000", stores)
    finally:
        await engine.dispose()


# --- requests -----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _body(store: tuple[str, float, float]) -> bytes:
    qr_url, lat, lng = store
    now = datetime.now(UTC)
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "qr": qr_url,
            "position": {
                "lat": lat + 0.0001,
                "lng": lng - 0.0001,
                "accuracy_m": 12.0,
                "captured_at": _iso(now - timedelta(seconds=3)),
            },
            "device_time": _iso(now),
            "queued_offline": False,
        }
    ).encode()


def _check_ins(seeded: Seeded, tokens: list[str], start: int, count: int) -> list[bytes]:
    """Check-ins by reps ``start .. start + count - 1``, one each."""
    out = []
    for i in range(start, start + count):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[i]}"}
        body = _body(seeded.stores[i % len(seeded.stores)])
        out.append(_harness.http_request("POST", "/api/v1/visits", body, headers))
    return out


def _floor_requests(seeded: Seeded, tokens: list[str], count: int) -> list[bytes]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[0]}"}
    body = _body(seeded.stores[0])
    return [_harness.http_request("POST", "/bench/floor", body, headers) for _ in range(count)]


def _baseline_requests(seeded: Seeded, count: int) -> list[bytes]:
    headers = {"Content-Type": "application/json"}
    return [
        _harness.http_request(
            "POST", "/checkins", _body(seeded.stores[i % len(seeded.stores)]), headers
        )
        for i in range(count)
    ]


def _sign_in(port: int, username: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Totals:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    non_2xx: int = 0
    server_cpu_s: float | None = 0.0

    def add(self, result: _harness.LoadResult, server_cpu_s: float | None) -> None:
        self.seconds += result.seconds
        self.latencies_ms += result.latencies_ms
        self.non_2xx += result.not_ok
        if self.server_cpu_s is not None and server_cpu_s is not None:
            self.server_cpu_s += server_cpu_s
        else:
            self.server_cpu_s = None

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


def _load(
    server: _harness.Server, requests: list[bytes], concurrency: int
) -> tuple[_harness.LoadResult, float | None]:
    """Run the load; also return the CPU seconds the server process spent meanwhile."""
    before = server.cpu_seconds()
    result = _harness.run_async(_harness.http_load(server.port, requests, concurrency))
    after = server.cpu_seconds()
    return result, None if before is None or after is None else after - before


def _report_failures(name: str, result: _harness.LoadResult) -> None:
    if result.not_ok:
        print(f"  {name}: {result.not_ok} non-2xx answers, statuses {dict(result.statuses)}")
        for failure in result.failures:
            print(f"    {failure}")


def _describe(name: str, totals: Totals) -> None:
    latencies = totals.latencies_ms
    p50, p95, p99 = (_harness.percentile(latencies, q) for q in (50, 95, 99))
    print(
        f"  {name:<31} {totals.rps:6.0f} req/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
        f"p99 {p99:6.1f} ms   max {max(latencies):6.1f} ms"
    )
    cpu = totals.server_cpu_s
    busy = (
        f"server process: {cpu / len(latencies) * 1000:.2f} ms CPU per request, "
        f"busy {cpu / totals.seconds:.0%} of the time; "
        if cpu is not None
        else ""
    )
    print(f"  {'':<31} {busy}{len(latencies)} requests, {totals.non_2xx} non-2xx")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per target")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    per_round = args.requests // args.rounds
    reps = WARMUP + per_round * args.rounds

    with _harness.migrated_postgres("doorstep-bench-checkin-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        seeded = _harness.run_async(_seed(settings, url, reps))
        print(
            f"seeded 1 org, {reps:,} reps, {STORES} stores in {time.perf_counter() - started:.1f} s"
        )
        app_env = _harness.app_env(url, tmp / "data")
        baseline_env = {
            BASELINE_DSN_ENV: _harness.asyncpg_dsn(url),
            BASELINE_POOL_ENV: str(settings.database_pool_size),
        }
        app_log, baseline_log = tmp / "app.log", tmp / "baseline.log"
        with (
            _harness.uvicorn_server("backend.main:create_app", app_env, app_log) as app_server,
            _harness.uvicorn_server(
                "bench_check_in:create_floor_app",
                app_env,
                tmp / "floor.log",
                app_dir=_harness.BENCH_DIR,
            ) as floor_server,
            _harness.uvicorn_server(
                "bench_check_in:create_baseline_app",
                baseline_env,
                baseline_log,
                app_dir=_harness.BENCH_DIR,
            ) as baseline_server,
        ):
            signed_in = _sign_in(app_server.port, seeded.first_rep_username)
            now = datetime.now(UTC)
            tokens = [signed_in] + [
                issue_access_token(
                    settings.secret, Principal(rep_id, seeded.org_id, Role.rep), now, 3600
                )
                for rep_id in seeded.rep_ids[1:]
            ]

            warm_app, _ = _load(app_server, _check_ins(seeded, tokens, 0, WARMUP), args.concurrency)
            warm_base, _ = _load(
                baseline_server, _baseline_requests(seeded, WARMUP), args.concurrency
            )
            warm_floor, _ = _load(
                floor_server, _floor_requests(seeded, tokens, WARMUP), args.concurrency
            )
            _report_failures("warm-up check-in", warm_app)
            _report_failures("warm-up bare INSERT", warm_base)
            _report_failures("warm-up floor", warm_floor)

            app_totals, base_totals, floor_totals = Totals(), Totals(), Totals()
            for r in range(args.rounds):
                base, base_cpu = _load(
                    baseline_server, _baseline_requests(seeded, per_round), args.concurrency
                )
                first = WARMUP + r * per_round
                app, app_cpu = _load(
                    app_server, _check_ins(seeded, tokens, first, per_round), args.concurrency
                )
                floor, floor_cpu = _load(
                    floor_server, _floor_requests(seeded, tokens, per_round), args.concurrency
                )
                _report_failures(f"round {r + 1} bare INSERT", base)
                _report_failures(f"round {r + 1} check-in", app)
                _report_failures(f"round {r + 1} floor", floor)
                print(
                    f"round {r + 1}: bare INSERT {base.rps:.0f} req/s, "
                    f"check-in {app.rps:.0f} req/s, ratio {app.rps / base.rps:.2f}; "
                    f"floor {floor.rps:.0f} req/s, ratio {floor.rps / base.rps:.2f}"
                )
                base_totals.add(base, base_cpu)
                app_totals.add(app, app_cpu)
                floor_totals.add(floor, floor_cpu)

        stored = _harness.run_async(_count_rows(url))

    print(
        f"\n{args.concurrency} concurrent keep-alive connections, uvicorn 1 worker each, "
        f"{args.rounds} rounds x {per_round} requests per target after {WARMUP} warm-up each; "
        f"client, servers and PostgreSQL share {os.cpu_count()} CPU(s)"
    )
    _describe("bare FastAPI + asyncpg INSERT", base_totals)
    _describe("POST /api/v1/visits (check-in)", app_totals)
    _describe("floor: token + body + SELECT 1", floor_totals)
    print(f"  visits stored: {stored[0]:,}, bare rows stored: {stored[1]:,}")
    ratio = app_totals.rps / base_totals.rps
    verdict = "OK" if ratio >= GOAL_RATIO else "UNDER GOAL"
    print(f"  check-in / bare ratio: {ratio:.2f} (goal >= {GOAL_RATIO}): {verdict}")
    print(
        f"  floor / bare ratio: {floor_totals.rps / base_totals.rps:.2f} "
        "(the most any check-in on this app's stack could reach)"
    )
    expected = WARMUP + per_round * args.rounds
    if app_totals.non_2xx or floor_totals.non_2xx or stored[0] != expected:
        print(f"FAILED: {app_totals.non_2xx} non-2xx check-ins, {stored[0]} of {expected} stored")
        return 1
    return 0


async def _count_rows(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(_harness.asyncpg_dsn(url))
    try:
        visits = await connection.fetchval("SELECT count(*) FROM visits")
        bare = await connection.fetchval("SELECT count(*) FROM bench_baseline_checkins")
        return int(visits), int(bare)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
