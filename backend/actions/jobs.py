"""Next-action reminders and overdue escalation, safe on N replicas.

Each batch is one transaction: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and stamped
together with their notifications, so every reminder and escalation happens exactly once
however many schedulers run. ``now`` can be passed in (tests move time forward with it).
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import service
from backend.db import session_scope
from backend.kit.time import utc_now

Step = Callable[[AsyncSession, datetime, int], Awaitable[int]]


async def _drain(sessionmaker: async_sessionmaker[AsyncSession], step: Step, now: datetime) -> int:
    total = 0
    while True:
        async with session_scope(sessionmaker) as session:
            done = await step(session, now, service.JOB_BATCH)
        total += done
        if done < service.JOB_BATCH:
            return total


async def run_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Send due reminders first, then day-before reminders; returns how many were sent."""
    now = now or utc_now()
    # Due first: an action already due gets "due now", never a late "due within 24 h".
    due = await _drain(sessionmaker, service.remind_due, now)
    return due + await _drain(sessionmaker, service.remind_day_before, now)


async def run_escalations(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Escalate open actions past due to their reps' supervisors; returns how many."""
    return await _drain(sessionmaker, service.escalate_overdue, now or utc_now())


async def run_all(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Reminders, then escalations, one after the other.

    One job rather than two: run concurrently, the two would lock the same rows and each skip
    the other's, putting work off by a minute for no reason. Across replicas SKIP LOCKED
    splits the rows; whatever one replica skipped is done by the other in the same run.
    """
    now = now or utc_now()
    return await run_reminders(sessionmaker, now) + await run_escalations(sessionmaker, now)


JOB_ID = "next_actions.remind_and_escalate"
