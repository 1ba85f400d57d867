from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.auth.dependencies import Admin
from backend.errors import FieldError, ValidationFailed
from backend.events import feed
from backend.events.catalog import EventType
from backend.events.schemas import EventSubject, FeedItem, FeedPageRead
from backend.kit.deps import SessionDep
from backend.kit.pagination import MAX_CURSOR_LENGTH

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_KNOWN_TYPES = frozenset(t.value for t in EventType)


def _unknown_type(name: str) -> FieldError:
    return FieldError("/query/types", f"unknown event type {name[:64]!r}", "invalid_type")


async def feed_types(
    types: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Only these event types, comma-separated (e.g. "
            "`visit.submitted,next_action.created`); every type if left out.",
        ),
    ] = None,
) -> frozenset[str] | None:
    """The ``types`` filter: catalog types only; blank means every type."""
    named = [part.strip() for part in (types or "").split(",") if part.strip()]
    unknown = sorted({name for name in named if name not in _KNOWN_TYPES})
    if unknown:
        raise ValidationFailed(
            "Unknown event type: " + ", ".join(unknown[:5]),
            errors=[_unknown_type(name) for name in unknown[:20]],
        )
    return frozenset(named) or None


async def feed_position(
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="`next_cursor` of the previous page; from the org's first event if "
            "left out.",
        ),
    ] = None,
) -> feed.Position | None:
    return feed.decode_cursor(cursor) if cursor else None


def _item(event: feed.FeedEvent) -> FeedItem:
    return FeedItem(
        id=event.id,
        type=EventType(event.type),
        occurred_at=event.occurred_at,
        subject=EventSubject(type=event.subject_type, id=event.subject_id),
        actor_id=event.actor_id,
        data=event.payload,
    )


@router.get(
    "",
    operation_id="events_feed",
    summary="The change feed: the organization's events, oldest first, resumable",
    response_model=FeedPageRead,
    responses={
        403: {
            "description": "Admins and API keys with `events:read` only (`forbidden`, "
            "`insufficient_scope`)."
        },
        422: {"description": "A bad `cursor`, `limit` or `types` (`validation_error`, pointer)."},
    },
)
async def read_feed(
    session: SessionDep,
    principal: Admin,
    position: Annotated[feed.Position | None, Depends(feed_position)],
    types: Annotated[frozenset[str] | None, Depends(feed_types)],
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000)")] = 100,
) -> FeedPageRead:
    """Follow `next_cursor` to read every event exactly once, in one order, even though
    transactions commit out of order. `has_more` false: caught up; poll again later with the
    same `next_cursor`. See docs/integration.md, "The change feed"."""
    page = await feed.read_after(session, principal.org_id, position, limit, types)
    return FeedPageRead(
        items=[_item(e) for e in page.events],
        next_cursor=feed.encode_cursor(page.next),
        has_more=page.has_more,
    )
