"""The in-process scheduler; every job is safe to run on several replicas at once."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, NamedTuple

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import jobs as action_jobs
from backend.auth import jobs as auth_jobs
from backend.kit import idempotency
from backend.kit.storage import Storage
from backend.visits import jobs as visit_jobs

# A temp file older than this belongs to a write that died (a live one takes milliseconds).
TEMP_FILE_MAX_AGE_S = 3600


class Job(NamedTuple):
    id: str
    run: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    every: timedelta


def jobs(sessionmaker: async_sessionmaker[AsyncSession], storage: Storage) -> list[Job]:
    return [
        Job(
            "auth.purge_refresh_tokens",
            auth_jobs.purge_refresh_tokens,
            (sessionmaker,),
            timedelta(hours=1),
        ),
        Job(
            "visits.abandon_stale",
            visit_jobs.abandon_stale_visits,
            (sessionmaker,),
            timedelta(minutes=5),
        ),
        Job(
            "idempotency.purge_expired",
            idempotency.purge_expired_keys,
            (sessionmaker,),
            timedelta(hours=1),
        ),
        Job(action_jobs.JOB_ID, action_jobs.run_all, (sessionmaker,), timedelta(minutes=1)),
        Job(
            "storage.sweep_temp_files",
            storage.sweep_temp_files,
            (TEMP_FILE_MAX_AGE_S,),
            timedelta(hours=1),
        ),
    ]


def build_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], storage: Storage
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs(sessionmaker, storage):
        # One run at a time per process, and a missed run is not replayed in a burst; other
        # replicas are kept out by each job's own row claims or advisory lock.
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.every.total_seconds(),
            args=list(job.args),
            id=job.id,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
