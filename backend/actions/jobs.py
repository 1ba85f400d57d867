"""Next-action reminders and overdue escalation, safe on N replicas.

Each batch is one transaction: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and stamped
together with their notifications, so every reminder and escalation happens exactly once
however many schedulers run. The caller is the time boundary: the scheduler's tick passes its
``now`` (a test moves time forward with it); a direct call without one runs at the current time.
"""

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import service
from backend.db import session_scope
from backend.kit.time import utc_now


class Step(Protocol):
    def __call__(
        self, session: AsyncSession, now: datetime, batch: int, *, org_id: uuid.UUID | None = ...
    ) -> Awaitable[int]: ...


# One run's order. Due first: an action already due gets "due now", never a late "due within
# 24 h"; then the day-before reminders; then the escalations.
REMINDERS: tuple[Step, ...] = (service.remind_due, service.remind_day_before)
ESCALATIONS: tuple[Step, ...] = (service.escalate_overdue,)


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
    return sum([await _drain(sessionmaker, step, now) for step in REMINDERS])


async def run_escalations(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Escalate open actions past due to their reps' supervisors; returns how many."""
    now = now or utc_now()
    return sum([await _drain(sessionmaker, step, now) for step in ESCALATIONS])


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


async def run_all_in(session: AsyncSession, now: datetime, org_id: uuid.UUID) -> int:
    """One run of :func:`run_all` for one organization, in the caller's transaction: how the
    demo seed runs the job at the simulated ticks of its week (other orgs are left alone)."""
    total = 0
    for step in (*REMINDERS, *ESCALATIONS):
        while True:
            done = await step(session, now, service.JOB_BATCH, org_id=org_id)
            total += done
            if done < service.JOB_BATCH:
                break
    return total


JOB_ID = "next_actions.remind_and_escalate"
