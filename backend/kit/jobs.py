"""Helpers for scheduled jobs that are safe on N app replicas."""

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope

logger = logging.getLogger(__name__)
T = TypeVar("T")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a job name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def try_xact_lock(session: AsyncSession, name: str) -> bool:
    """Take a transaction-scoped advisory lock; False when another replica holds it."""
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(advisory_key(name)))))


async def run_exclusive(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T | None:
    """Run ``work`` in one transaction if no other process is running the job ``name``."""
    async with session_scope(sessionmaker) as session:
        if not await try_xact_lock(session, name):
            logger.info("job skipped: held elsewhere", extra={"job": name})
            return None
        return await work(session)
