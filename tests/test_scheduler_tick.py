"""The scheduler's tick is every job's time boundary: it reads the clock once and each job works
at the ``now`` it is handed (so a job can be run at any time, as the tests and the demo do)."""

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth import jobs as auth_jobs
from backend.config import Settings
from backend.db import session_scope
from backend.idempotency import jobs as idempotency_jobs
from backend.kit.storage import build_storage
from backend.kit.time import utc_now
from backend.models import IdempotencyKey, RefreshToken
from backend.scheduler import jobs, tick
from tests.factories.world import World


async def test_the_tick_hands_its_job_the_current_time() -> None:
    seen: list[datetime] = []

    async def job(now: datetime) -> int:
        seen.append(now)
        return 7

    before = utc_now()
    assert await tick(job) == 7
    assert len(seen) == 1 and before <= seen[0] <= utc_now()


async def test_every_scheduled_job_runs_at_the_time_it_is_given(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    later = utc_now() + timedelta(days=60)
    ids = []
    for job in jobs(sessionmaker, build_storage(settings)):
        await job.run(later)
        ids.append(job.id)
    assert len(set(ids)) == len(ids) == 6


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with session_scope(sessionmaker) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_idempotency_keys_are_purged_as_of_the_tick(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    response = await client.post(
        "/api/v1/teams",
        json={"name": f"T {uuid.uuid4().hex[:6]}", "supervisor_id": str(org.supervisor.id)},
        headers={**org.admin.headers, "Idempotency-Key": "tick"},
    )
    assert response.status_code == 201, response.text
    assert await idempotency_jobs.purge_expired_keys(sessionmaker, utc_now()) == 0
    a_day_later = utc_now() + timedelta(hours=25)
    assert await idempotency_jobs.purge_expired_keys(sessionmaker, a_day_later) == 1
    assert await _count(sessionmaker, IdempotencyKey) == 0


async def test_refresh_tokens_are_purged_as_of_the_tick(
    world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await world.org()
    tokens = await _count(sessionmaker, RefreshToken)
    assert tokens > 0
    expired = utc_now() + timedelta(days=settings.refresh_token_idle_days)
    assert await auth_jobs.purge_refresh_tokens(sessionmaker, expired) == 0  # kept a week
    kept_until = expired + auth_jobs.RETENTION + timedelta(minutes=1)
    assert await auth_jobs.purge_refresh_tokens(sessionmaker, kept_until) == tokens
