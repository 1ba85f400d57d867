"""The events outbox: one row per state change, in the caller's transaction."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Event


async def record(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    payload: dict[str, Any] | None = None,
    flush: bool = True,
) -> Event:
    """Add the event to the caller's transaction (``flush=False``: written at its commit)."""
    event = Event(
        org_id=org_id,
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        payload=payload or {},
    )
    session.add(event)
    if flush:
        await session.flush()
    return event
