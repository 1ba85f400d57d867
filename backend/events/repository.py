"""The events domain's SQL: the change feed's one read.

The feed reads an organization's events in (txid, seq) order after a position, up to the
*horizon*: the oldest transaction id still running when the statement's snapshot was taken
(``pg_snapshot_xmin``). Every transaction with a smaller id has ended, and any transaction that
has not written yet will get a larger one, so nothing can still appear below the horizon
(docs/integration.md, "The change feed"). The horizon is computed in the same statement as the
rows, from that statement's own snapshot: read from a later snapshot it could pass events the
rows' snapshot does not see yet.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Text, cast, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Event


def _xid8_as_bigint(xid8: ColumnElement[Any]) -> ColumnElement[int]:
    # xid8 has no cast to bigint; through text it is exact (an xid8 is an epoch-extended 64-bit
    # counter that a real cluster never takes past 2^63).
    return cast(cast(xid8, Text), BigInteger)


@dataclass(frozen=True, slots=True)
class Horizon:
    """The snapshot's bounds: every transaction below ``xmin`` has ended; ``xmax`` is one past
    the newest ended transaction (no position this server handed out can be beyond it)."""

    xmin: int
    xmax: int


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """An event as the feed reads it: the ``events`` row's columns under the model's names
    (``payload`` is the catalog payload; ``txid``, ``seq`` its feed position). Not an ORM
    instance: a page of a thousand costs no identity map and no instance state."""

    id: uuid.UUID
    org_id: uuid.UUID
    type: str
    subject_type: str
    subject_id: uuid.UUID
    actor_id: uuid.UUID | None
    payload: dict[str, Any]
    occurred_at: datetime
    txid: int
    seq: int


_FEED_COLUMNS = (
    Event.id,
    Event.org_id,
    Event.type,
    Event.subject_type,
    Event.subject_id,
    Event.actor_id,
    Event.payload,
    Event.occurred_at,
    Event.txid,
    Event.seq,
)


def feed_statement(
    org_id: uuid.UUID, after: tuple[int, int], limit: int, types: Collection[str] | None
) -> Select[Any]:
    """The horizon, and up to ``limit`` events after ``after`` below it, in feed order."""
    snapshot = func.pg_current_snapshot()
    horizon = select(
        _xid8_as_bigint(func.pg_snapshot_xmin(snapshot)).label("xmin"),
        _xid8_as_bigint(func.pg_snapshot_xmax(snapshot)).label("xmax"),
    ).subquery("horizon")
    page = select(*_FEED_COLUMNS).where(
        Event.org_id == org_id,
        # A row comparison: the index on (org_id, txid, seq) starts right after the position.
        tuple_(Event.txid, Event.seq) > tuple_(*after),
        Event.txid < horizon.c.xmin,
    )
    if types is not None:
        page = page.where(Event.type.in_(sorted(types)))
    page_rows = page.order_by(Event.txid, Event.seq).limit(limit).lateral("page")
    # LEFT JOIN: an empty page still answers with its horizon (and NULL event columns).
    return (
        select(horizon.c.xmin, horizon.c.xmax, *page_rows.c)
        .select_from(horizon)
        .outerjoin(page_rows, true())
        .order_by(page_rows.c.txid, page_rows.c.seq)
    )


async def read_events_after(
    session: AsyncSession,
    org_id: uuid.UUID,
    after: tuple[int, int],
    limit: int,
    types: Collection[str] | None,
) -> tuple[list[FeedEvent], Horizon]:
    """Up to ``limit`` of the org's events after ``after`` (txid, seq) and below the horizon,
    in feed order, with the horizon of the snapshot that read them (one indexed statement)."""
    rows = (await session.execute(feed_statement(org_id, after, limit, types))).all()
    found = Horizon(xmin=rows[0].xmin, xmax=rows[0].xmax)
    return [FeedEvent(*row[2:]) for row in rows if row.id is not None], found
