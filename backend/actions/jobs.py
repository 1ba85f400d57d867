"""Next-action reminders and overdue escalation, safe on N replicas.

Each batch is one transaction: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and stamped
together with their notifications, so every reminder and escalation happens exactly once
however many schedulers run. The caller is the time boundary: the scheduler's tick passes its
``now`` (a test moves time forward with it); a direct call without one runs at the current time.
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import service
from backend.kit.jobs import BatchStep, drain_all, drain_in
from backend.kit.time import utc_now

# One run's order. Due first: an action already due gets "due now", never a late "due within
# 24 h"; then the day-before reminders; then the escalations.
REMINDERS: tuple[BatchStep, ...] = (service.remind_due, service.remind_day_before)
ESCALATIONS: tuple[BatchStep, ...] = (service.escalate_overdue,)


async def run_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Send due reminders first, then day-before reminders; returns how many were sent."""
    now = now or utc_now()
    return await drain_all(sessionmaker, REMINDERS, now, service.JOB_BATCH)


async def run_escalations(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Escalate open actions past due to their reps' supervisors; returns how many."""
    now = now or utc_now()
    return await drain_all(sessionmaker, ESCALATIONS, now, service.JOB_BATCH)


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
    steps = (*REMINDERS, *ESCALATIONS)
    return await drain_in(session, steps, now, service.JOB_BATCH, org_id)


JOB_ID = "next_actions.remind_and_escalate"
