"""The events outbox: one row per state change, in the caller's transaction.

The one writer of ``events``: every row is built here from a typed payload of the catalog
(``backend.events.catalog``), which names its type and subject type. The check-in's
single-statement insert takes its values from ``catalog.event_row`` instead.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.events.catalog import EventPayload
from backend.models import Event

# Rows per INSERT of ``record_many`` (well under asyncpg's 32,767 bind parameters).
_BULK_ROWS = 2000


def new_event(
    payload: EventPayload,
    *,
    org_id: uuid.UUID,
    subject_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    occurred_at: datetime | None = None,
) -> Event:
    """The event row for ``payload``, not yet added to a session."""
    event = Event(
        org_id=org_id,
        type=payload.type.value,
        subject_type=payload.subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        payload=payload.data(),
    )
    if occurred_at is not None:
        event.occurred_at = occurred_at
    return event


async def record(
    session: AsyncSession,
    payload: EventPayload,
    *,
    org_id: uuid.UUID,
    subject_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    occurred_at: datetime | None = None,
    flush: bool = True,
) -> Event:
    """Add the event to the caller's transaction (``flush=False``: written at its commit).

    ``occurred_at`` defaults to now; the demo seed passes its simulated time.
    """
    event = new_event(
        payload, org_id=org_id, subject_id=subject_id, actor_id=actor_id, occurred_at=occurred_at
    )
    session.add(event)
    if flush:
        await session.flush()
    return event


async def record_many(
    session: AsyncSession,
    items: Iterable[tuple[EventPayload, uuid.UUID]],
    *,
    org_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> int:
    """Insert ``(payload, subject_id)`` events in bulk statements (a CSV import's thousands of
    rows: ``record`` flushes one at a time). Returns how many were written."""
    rows = [
        {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "type": payload.type.value,
            "subject_type": payload.subject_type,
            "subject_id": subject_id,
            "actor_id": actor_id,
            "payload": payload.data(),
        }
        for payload, subject_id in items
    ]
    for start in range(0, len(rows), _BULK_ROWS):
        await session.execute(insert(Event).values(rows[start : start + _BULK_ROWS]))
    return len(rows)
