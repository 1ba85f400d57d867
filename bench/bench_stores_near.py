"""Latency of ``GET /api/v1/stores?near=lat,lng&limit=50`` over 10,000 stores around one city.

Starts an embedded PostgreSQL in a temporary directory, migrates it, creates an organization and
bulk-inserts the stores (scattered over ~60 km around Shanghai, denser in the centre), then runs
the real app in-process (httpx.ASGITransport) and times the request at random points in and
around the city, signed in as the org's admin. Goal: median < 20 ms.

Usage: python bench/bench_stores_near.py [--stores N] [--requests N]
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid

import _harness
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.dialects.postgresql import insert

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.main import create_app
from backend.models import Store
from backend.orgs import service as org_service

GOAL_MS = 20.0
CENTRE = (31.2304, 121.4737)
PASSWORD = "bench-password-123"
WARMUP = 20


def _point(rng: random.Random, spread_deg: float) -> tuple[float, float]:
    return (
        CENTRE[0] + rng.gauss(0, spread_deg),
        CENTRE[1] + rng.gauss(0, spread_deg * 1.15),
    )


async def _seed(settings: Settings, url: str, count: int) -> None:
    engine = create_engine(url, settings)
    sessionmaker = create_sessionmaker(engine)
    rng = random.Random(42)
    try:
        async with session_scope(sessionmaker) as session:
            org, _ = await org_service.create_org(session, "Bench org", "bench-admin", PASSWORD)
            rows = []
            for i in range(count):
                lat, lng = _point(rng, 0.15)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "org_id": org.id,
                        "code": f"B{i:06d}",
                        "name": f"门店 {i}",
                        "address": f"上海市 某区 某路 {i} 号",
                        "lat": max(-90.0, min(90.0, lat)),
                        "lng": lng,
                        "geofence_radius_m": 150,
                        "customer_type": rng.choice(["pharmacy", "clinic", "supermarket"]),
                        "qr_version": 1,
                    }
                )
            for start in range(0, len(rows), 2000):
                await session.execute(insert(Store).values(rows[start : start + 2000]))
        async with engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE stores")
    finally:
        await engine.dispose()


async def _measure(settings: Settings, requests: int) -> list[float]:
    app = create_app(settings)
    rng = random.Random(7)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "bench-admin", "password": PASSWORD},
            )
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            timings: list[float] = []
            for i in range(requests + WARMUP):
                lat, lng = _point(rng, 0.2)
                started = time.perf_counter()
                response = await client.get(
                    "/api/v1/stores",
                    params={"near": f"{lat:.6f},{lng:.6f}", "limit": "50"},
                    headers=headers,
                )
                took = (time.perf_counter() - started) * 1000
                if response.status_code != 200 or len(response.json()["items"]) != 50:
                    raise RuntimeError(f"unexpected answer: {response.status_code} {response.text}")
                if i >= WARMUP:
                    timings.append(took)
            return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stores", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    with _harness.migrated_postgres("doorstep-bench-near-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        asyncio.run(_seed(settings, url, args.stores))
        print(f"seeded {args.stores:,} stores in {time.perf_counter() - started:.1f} s")
        timings = asyncio.run(_measure(settings, args.requests))

    timings.sort()
    median = statistics.median(timings)
    p95 = _harness.percentile(timings, 95)
    print(f"GET /api/v1/stores?near=...&limit=50 over {args.stores:,} stores, {len(timings)} runs")
    print(f"  median {median:.1f} ms   p95 {p95:.1f} ms   max {timings[-1]:.1f} ms")
    verdict = "OK" if median < GOAL_MS else "OVER GOAL"
    print(f"  goal median < {GOAL_MS:.0f} ms: {verdict}")
    return 0 if median < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
