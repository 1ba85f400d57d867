from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.idempotency import repository
from backend.kit.jobs import run_exclusive

JOB_ID = "idempotency.purge_expired"


async def purge_expired_keys(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime
) -> int | None:
    """The scheduler job: delete keys expired at ``now``, on one replica at a time."""

    async def work(session: AsyncSession) -> int:
        return await repository.purge_expired(session, now)

    return await run_exclusive(sessionmaker, JOB_ID, work)
