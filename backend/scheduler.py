"""The in-process scheduler; every job is safe to run on several replicas at once.

The tick is the time boundary of every job: it reads the clock once and hands that ``now`` to
the job, which passes it on to the services it calls.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import jobs as action_jobs
from backend.auth import jobs as auth_jobs
from backend.idempotency import jobs as idempotency_jobs
from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.rectifications import jobs as rectification_jobs
from backend.visits import jobs as visit_jobs

# A temp file older than this belongs to a write that died (a live one takes milliseconds).
TEMP_FILE_MAX_AGE_S = 3600


class Job(NamedTuple):
    id: str
    run: Callable[[datetime], Awaitable[Any]]  # called with the tick's time
    every: timedelta


def jobs(sessionmaker: async_sessionmaker[AsyncSession], storage: Storage) -> list[Job]:
    async def sweep_temp_files(now: datetime) -> int:
        # Files age by the filesystem's clock (their mtime), not by the tick's.
        return await storage.sweep_temp_files(TEMP_FILE_MAX_AGE_S)

    return [
        Job(
            "auth.purge_refresh_tokens",
            partial(auth_jobs.purge_refresh_tokens, sessionmaker),
            timedelta(hours=1),
        ),
        Job(
            "visits.abandon_stale",
            partial(visit_jobs.abandon_stale_visits, sessionmaker),
            timedelta(minutes=5),
        ),
        Job(
            idempotency_jobs.JOB_ID,
            partial(idempotency_jobs.purge_expired_keys, sessionmaker),
            timedelta(hours=1),
        ),
        Job(action_jobs.JOB_ID, partial(action_jobs.run_all, sessionmaker), timedelta(minutes=1)),
        Job(
            rectification_jobs.JOB_ID,
            partial(rectification_jobs.run_all, sessionmaker),
            timedelta(minutes=1),
        ),
        Job("storage.sweep_temp_files", sweep_temp_files, timedelta(hours=1)),
    ]


async def tick(run: Callable[[datetime], Awaitable[Any]]) -> Any:
    """One run of a job at the current time."""
    return await run(utc_now())


def build_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], storage: Storage
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs(sessionmaker, storage):
        # One run at a time per process, and a missed run is not replayed in a burst; other
        # replicas are kept out by each job's own row claims or advisory lock.
        scheduler.add_job(
            tick,
            "interval",
            seconds=job.every.total_seconds(),
            args=[job.run],
            id=job.id,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
