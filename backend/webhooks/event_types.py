"""Which events reach webhooks: the DESIGN §5 list (``ping`` apart: it goes only to the endpoint
whose test button sent it). Doorstep's own types (the audit trail's) stay inside."""

from collections.abc import Sequence

from backend.events.catalog import EventType

WILDCARD = "*"

WEBHOOK_EVENT_TYPES: tuple[EventType, ...] = (
    EventType.visit_checked_in,
    EventType.visit_submitted,
    EventType.visit_approved,
    EventType.visit_rejected,
    EventType.visit_abandoned,
    EventType.next_action_created,
    EventType.next_action_completed,
    EventType.next_action_rescheduled,
    EventType.next_action_overdue,
    EventType.audit_submitted,
    EventType.rectification_created,
    EventType.rectification_submitted,
    EventType.rectification_verified,
    EventType.rectification_reopened,
    EventType.store_created,
    EventType.store_updated,
)
SUBSCRIBABLE = frozenset(t.value for t in WEBHOOK_EVENT_TYPES)


def wants(event_types: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``event_types`` receives an event of ``event_type``."""
    if event_type not in SUBSCRIBABLE:
        return False
    return WILDCARD in event_types or event_type in event_types
