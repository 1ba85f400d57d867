from backend.kit.schemas import ResponseSchema, UtcDatetime
from backend.stores.schemas import StoreRead
from backend.visits.schemas import VisitRead


class StoreTimeline(ResponseSchema):
    """What happened at a store lately: visits with their photos, flags and trust (audits,
    next actions and rectifications join as those modules land)."""

    store: StoreRead
    since: UtcDatetime
    visits: list[VisitRead]
    server_time: UtcDatetime
