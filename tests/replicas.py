"""Two app replicas' schedulers against one database, for the tests that a job's work is done
exactly once however the replicas' runs interleave."""

import asyncio
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.storage import build_storage
from backend.kit.time import utc_now
from backend.scheduler import build_scheduler


async def run_on_two_replicas(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: str,
    remaining: Select[Any],
) -> None:
    """Start the app's scheduler on ``sessionmaker`` and a second one on an engine of its own
    (another replica), fire ``job_id`` on both now, and return once ``remaining`` (a count)
    reads 0 and both runs have had time to finish."""
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    storage = build_storage(settings)
    schedulers = [
        build_scheduler(sessionmaker, storage),
        build_scheduler(create_sessionmaker(engine), storage),
    ]
    try:
        for scheduler in schedulers:
            scheduler.start()
            scheduler.get_job(job_id).modify(next_run_time=utc_now())
        for _ in range(100):
            async with session_scope(sessionmaker) as session:
                left = await session.scalar(remaining)
            if left == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let both schedulers' runs finish
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        await engine.dispose()
