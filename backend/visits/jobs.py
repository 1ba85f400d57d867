from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.visits import service


async def abandon_stale_visits(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Abandon visits left open too long; safe on N replicas (rows claimed with SKIP LOCKED).

    The job is the boundary: ``now`` is the scheduler's run time unless its caller (a test,
    the demo seed) passes one; every batch of the run uses the same.
    """
    now = now or utc_now()
    total = 0
    while True:
        async with session_scope(sessionmaker) as session:
            done = await service.abandon_stale_visits(session, now)
        total += done
        if done < service.STALE_BATCH:
            return total
