"""Helpers for scheduled jobs that are safe on N app replicas."""

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

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


class BatchStep(Protocol):
    """One kind of claimed work (a reminder, an escalation): claims up to ``batch`` due rows
    with ``FOR UPDATE SKIP LOCKED`` and handles them in ``session``; returns how many (every
    org's rows, or ``org_id``'s only)."""

    def __call__(
        self, session: AsyncSession, now: datetime, batch: int, *, org_id: uuid.UUID | None = ...
    ) -> Awaitable[int]: ...


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession], step: BatchStep, now: datetime, batch: int
) -> int:
    """Run ``step`` batch after batch, each in its own transaction (a claimed row is stamped in
    the transaction of its notification), until a batch comes back short."""
    total = 0
    while True:
        async with session_scope(sessionmaker) as session:
            done = await step(session, now, batch)
        total += done
        if done < batch:
            return total


async def drain_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    steps: Sequence[BatchStep],
    now: datetime,
    batch: int,
) -> int:
    """:func:`drain` each step in turn (their order is the job's: e.g. "due" before "due
    soon")."""
    return sum([await drain(sessionmaker, step, now, batch) for step in steps])


async def drain_in(
    session: AsyncSession,
    steps: Sequence[BatchStep],
    now: datetime,
    batch: int,
    org_id: uuid.UUID,
) -> int:
    """The steps for one organization in the caller's transaction (how the demo seed runs a
    job at its simulated ticks)."""
    total = 0
    for step in steps:
        while True:
            done = await step(session, now, batch, org_id=org_id)
            total += done
            if done < batch:
                break
    return total
