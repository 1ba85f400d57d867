from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth import service
from backend.kit.jobs import run_exclusive

# Spent tokens are kept a week past expiry so a late replay is still recognised as reuse.
RETENTION = timedelta(days=7)


async def purge_refresh_tokens(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime
) -> int | None:
    """Delete refresh tokens expired more than ``RETENTION`` before ``now`` (the tick's time)."""

    async def work(session: AsyncSession) -> int:
        return await service.purge_expired_refresh_tokens(session, now - RETENTION)

    return await run_exclusive(sessionmaker, "auth.purge_refresh_tokens", work)
