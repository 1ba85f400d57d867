import uuid
from typing import Any

from pydantic import Field

from backend.events.catalog import EventType
from backend.kit.schemas import ResponseSchema, UtcDatetime


class EventSubject(ResponseSchema):
    """What the event is about: ``visit``, ``next_action``, ``store``, ``audit``, ..."""

    type: str
    id: uuid.UUID


class FeedItem(ResponseSchema):
    id: uuid.UUID
    type: EventType
    occurred_at: UtcDatetime = Field(
        description="When it happened, by the server's clock at the change (or the demo's "
        "simulated time). Not the feed's order: the feed is ordered by transaction."
    )
    subject: EventSubject
    actor_id: uuid.UUID | None = Field(description="Who did it; null for the scheduler.")
    data: dict[str, Any] = Field(
        description="The event type's payload from the catalog (one schema per type; see the "
        "`webhooks` section). It never carries a store's door code."
    )


class FeedPageRead(ResponseSchema):
    """A page of the change feed, oldest first."""

    items: list[FeedItem]
    next_cursor: str = Field(
        description="Always given: pass it as `cursor` to resume. On a page that is not full it "
        "is the feed's current horizon, past every event read or filtered out."
    )
    has_more: bool = Field(
        description="More events can be read right now; false: caught up, poll again later."
    )
