"""The change feed: an organization's events in one order that a follower can resume from.

Order and position are (txid, seq): the id of the transaction that wrote the event
(``pg_current_xact_id()``, a column default, so every writer fills it, the check-in's raw insert
included) and the event's insertion order. A read returns only events whose transaction id is
below the horizon, the oldest transaction still running (see ``repository``). Transaction ids
are handed out in increasing order at a transaction's first write, so once the horizon has
passed an id, no event can appear behind it: a follower that resumes after the last position it
read never misses an event and never sees one twice, however transactions commit. A long
transaction only delays the feed. docs/integration.md, "The change feed", has the whole case.

``read_after`` is the one reader: ``GET /api/v1/events`` and the webhook dispatcher use it.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import FieldError, ValidationFailed
from backend.events import repository
from backend.events.repository import FeedEvent
from backend.kit.pagination import decode_cursor as decode_key
from backend.kit.pagination import encode_cursor as encode_key

__all__ = [
    "START",
    "FeedEvent",
    "FeedPage",
    "Position",
    "PositionAhead",
    "decode_cursor",
    "encode_cursor",
    "read_after",
]

# Positions are PostgreSQL bigints.
_MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the feed: everything at or before (txid, seq) has been read. ``seq`` 0 with a
    txid is "before every event of that transaction" (identities start at 1)."""

    txid: int
    seq: int


# Where a new follower starts: before the org's first event.
START = Position(0, 0)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Events in feed order; ``next``: where to resume (always given, never behind the position
    read after); ``has_more``: more events are readable right now (else poll later)."""

    events: list[FeedEvent]
    next: Position
    has_more: bool


class PositionAhead(ValidationFailed):
    """A position this server never handed out: ahead of every transaction it has finished.

    Only a database restored from a backup older than the follower's position produces one
    legitimately; reading on would silently skip the events written since the restore until the
    transaction counter caught up, so it is refused instead (the follower must start again)."""

    def __init__(self) -> None:
        super().__init__(
            "The cursor is ahead of this server's events (was the database restored from a "
            "backup?); start again without a cursor.",
            errors=[FieldError("/query/cursor", "ahead of this server's events", "invalid_cursor")],
        )


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid.",
        errors=[FieldError("/query/cursor", "not a cursor of the event feed", "invalid_cursor")],
    )


def encode_cursor(position: Position) -> str:
    """The opaque ``next_cursor`` for ``position``."""
    return encode_key([position.txid, position.seq])


def decode_cursor(cursor: str) -> Position:
    """The position a cursor from :func:`encode_cursor` names; anything else is a 422.

    Not signed: a cursor grants nothing (reads are scoped by the caller's org, and any position
    is one the caller could reach by following the feed), and a signature would tie every
    follower's saved position to the server's secret key."""
    try:
        txid, seq = decode_key(cursor, (int, int))
    except ValidationFailed as exc:
        raise invalid_cursor() from exc
    if not (0 <= txid <= _MAX_BIGINT and 0 <= seq <= _MAX_BIGINT):
        raise invalid_cursor()
    return Position(txid, seq)


def position_of(event: FeedEvent) -> Position:
    return Position(event.txid, event.seq)


async def read_after(
    session: AsyncSession,
    org_id: uuid.UUID,
    position: Position | None,
    limit: int,
    types: frozenset[str] | None = None,
) -> FeedPage:
    """Up to ``limit`` of the org's events after ``position`` (``None``: from the start), only
    of ``types`` if given. One indexed statement on (org_id, txid, seq).

    ``next`` moves past events ``types`` leaves out, so a filtering follower does not read them
    again: when the page is not full, every event below the horizon has been considered, and
    ``next`` is the horizon itself."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after = position or START
    # One more than asked, to tell whether more are readable now.
    events, horizon = await repository.read_events_after(
        session, org_id, (after.txid, after.seq), limit + 1, types
    )
    if after.txid > horizon.xmax:
        raise PositionAhead()
    if len(events) > limit:
        page = events[:limit]
        return FeedPage(events=page, next=position_of(page[-1]), has_more=True)
    # Everything below the horizon after ``after`` was read (or filtered out): resume there.
    return FeedPage(events=events, next=max(after, Position(horizon.xmin, 0)), has_more=False)
