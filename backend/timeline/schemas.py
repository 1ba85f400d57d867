import uuid
from typing import Literal

from backend.kit.schemas import ResponseSchema, UtcDatetime
from backend.rectifications.schemas import RectificationRead
from backend.stores.schemas import StoreRead
from backend.visits.schemas import VisitRead


class TimelineAudit(ResponseSchema):
    """An audit of the store, with its score once submitted."""

    id: uuid.UUID
    auditor_id: uuid.UUID
    status: Literal["open", "submitted", "abandoned"]
    started_at: UtcDatetime
    submitted_at: UtcDatetime | None
    percent: float | None
    band: Literal["green", "amber", "red"] | None
    passed: bool | None
    trust_score: int


class StoreTimeline(ResponseSchema):
    """What happened at a store lately: visits with their photos, flags, trust and next
    actions; audits with their scores; and the store's open rectifications."""

    store: StoreRead
    since: UtcDatetime
    visits: list[VisitRead]
    audits: list[TimelineAudit]
    rectifications: list[RectificationRead]
    server_time: UtcDatetime
