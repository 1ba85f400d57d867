from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.visits import service


async def abandon_stale_visits(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Abandon visits left open too long; safe on N replicas (rows claimed with SKIP LOCKED)."""
    total = 0
    while True:
        async with session_scope(sessionmaker) as session:
            done = await service.abandon_stale_visits(session, utc_now())
        total += done
        if done < service.STALE_BATCH:
            return total
