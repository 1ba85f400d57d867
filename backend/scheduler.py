"""The in-process scheduler; every job is safe to run on several replicas at once."""

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import jobs as action_jobs
from backend.auth import jobs as auth_jobs
from backend.kit.storage import Storage
from backend.visits import jobs as visit_jobs

# A temp file older than this belongs to a write that died (a live one takes milliseconds).
TEMP_FILE_MAX_AGE_S = 3600


def build_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], storage: Storage
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        auth_jobs.purge_refresh_tokens,
        "interval",
        hours=1,
        args=[sessionmaker],
        id="auth.purge_refresh_tokens",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        visit_jobs.abandon_stale_visits,
        "interval",
        minutes=5,
        args=[sessionmaker],
        id="visits.abandon_stale",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        storage.sweep_temp_files,
        "interval",
        hours=1,
        args=[TEMP_FILE_MAX_AGE_S],
        id="storage.sweep_temp_files",
        max_instances=1,
        coalesce=True,
    )
    action_jobs.register(scheduler, sessionmaker)
    return scheduler
