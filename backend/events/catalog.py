"""The typed event catalog: every event type, its subject, and the one payload model it carries.

Webhooks, the change feed, the store timeline and notifications read events by these types; a
writer cannot invent a type or a payload shape. ``record`` (``backend.events.service``) is the
one writer for the ORM paths; the check-in's single-statement insert takes its row from
``event_row`` so it writes exactly what ``record`` would.

The DESIGN §5 names come first; the rest are Doorstep's own (audit trail, timeline).
"""

import json
import uuid
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.kit.schemas import UtcDatetime
from backend.models import NextActionType, PhotoKind
from backend.models.user import Role
from backend.presence.flags import FlagCode


class EventType(StrEnum):
    visit_checked_in = "visit.checked_in"
    visit_submitted = "visit.submitted"
    visit_approved = "visit.approved"
    visit_rejected = "visit.rejected"
    visit_abandoned = "visit.abandoned"
    next_action_created = "next_action.created"
    next_action_completed = "next_action.completed"
    next_action_rescheduled = "next_action.rescheduled"
    next_action_overdue = "next_action.overdue"
    store_created = "store.created"
    store_updated = "store.updated"
    audit_submitted = "audit.submitted"
    rectification_created = "rectification.created"
    rectification_submitted = "rectification.submitted"
    rectification_verified = "rectification.verified"
    rectification_reopened = "rectification.reopened"
    ping = "ping"
    # Doorstep's own
    visit_resubmitted = "visit.resubmitted"
    visit_answers_saved = "visit.answers_saved"
    visit_photo_added = "visit.photo_added"
    visit_photo_replaced = "visit.photo_replaced"
    visit_shared = "visit.shared"
    next_action_replaced = "next_action.replaced"
    next_action_dropped = "next_action.dropped"
    store_qr_rotated = "store.qr_rotated"
    org_created = "org.created"
    user_created = "user.created"
    user_updated = "user.updated"
    team_created = "team.created"
    team_updated = "team.updated"
    team_members_added = "team.members_added"
    team_member_removed = "team.member_removed"
    customer_type_created = "customer_type.created"
    visit_form_published = "visit_form.published"
    audit_started = "audit.started"
    audit_results_saved = "audit.results_saved"
    audit_photo_added = "audit.photo_added"
    audit_abandoned = "audit.abandoned"
    audit_template_created = "audit_template.created"
    audit_checklist_published = "audit_checklist.published"
    rectification_photo_added = "rectification.photo_added"
    rectification_overdue = "rectification.overdue"


SubjectType = Literal["visit", "next_action", "store", "org", "user", "team", "customer_type",
                      "visit_form", "audit", "rectification", "audit_template",
                      "webhook_endpoint"]  # fmt: skip


class EventPayload(BaseModel):
    """The body of one event type; subclasses name their type and subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[EventType]
    subject_type: ClassVar[SubjectType]

    def data(self) -> dict[str, Any]:
        """The JSON object stored in ``events.payload``."""
        return self.model_dump(mode="json")


# --- visits ------------------------------------------------------------------------------------


class VisitCheckedIn(EventPayload):
    type = EventType.visit_checked_in
    subject_type = "visit"
    store_id: uuid.UUID
    trust_score: int
    flags: list[FlagCode]


class _VisitSubmission(EventPayload):
    subject_type = "visit"
    trust_score: int
    submit_count: int


class VisitSubmitted(_VisitSubmission):
    type = EventType.visit_submitted


class VisitResubmitted(_VisitSubmission):
    type = EventType.visit_resubmitted


class _VisitReviewed(EventPayload):
    subject_type = "visit"
    comment: str | None
    rep_id: uuid.UUID


class VisitApproved(_VisitReviewed):
    type = EventType.visit_approved


class VisitRejected(_VisitReviewed):
    type = EventType.visit_rejected


AbandonedBy = Literal["rep", "admin", "scheduler"]


class VisitAbandoned(EventPayload):
    type = EventType.visit_abandoned
    subject_type = "visit"
    reason: str
    by: AbandonedBy


class VisitAnswersSaved(EventPayload):
    type = EventType.visit_answers_saved
    subject_type = "visit"
    version: int


class _VisitPhoto(EventPayload):
    subject_type = "visit"
    kind: PhotoKind
    sha256: str
    duplicate_of: list[uuid.UUID]


class VisitPhotoAdded(_VisitPhoto):
    type = EventType.visit_photo_added


class VisitPhotoReplaced(_VisitPhoto):
    type = EventType.visit_photo_replaced


class VisitShared(EventPayload):
    type = EventType.visit_shared
    subject_type = "visit"
    expires_at: UtcDatetime


# --- next actions ------------------------------------------------------------------------------


class _NextAction(EventPayload):
    """What every next-action event says about its action."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    subject_type = "next_action"
    visit_id: uuid.UUID
    store_id: uuid.UUID
    assignee_id: uuid.UUID
    # The action's type (send_sample, quote, ...), stored under "type" like the action's read.
    action_type: NextActionType = Field(alias="type")
    due_at: UtcDatetime

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class NextActionCreated(_NextAction):
    type = EventType.next_action_created


class NextActionReplaced(_NextAction):
    type = EventType.next_action_replaced


class NextActionDropped(_NextAction):
    type = EventType.next_action_dropped


class NextActionCompleted(_NextAction):
    type = EventType.next_action_completed
    late: bool


class NextActionRescheduled(_NextAction):
    type = EventType.next_action_rescheduled
    old_due_at: UtcDatetime
    reason: str
    reschedule_count: int


class NextActionOverdue(_NextAction):
    type = EventType.next_action_overdue
    notified: list[uuid.UUID]


# --- stores, org, people, forms ----------------------------------------------------------------


class _StoreChange(EventPayload):
    """A store created or edited; the CSV import says so (``"via": "csv"``), others carry no
    ``via`` at all."""

    subject_type = "store"
    via: Literal["csv"] | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class StoreCreated(_StoreChange):
    type = EventType.store_created
    code: str


class StoreUpdated(_StoreChange):
    type = EventType.store_updated
    fields: list[str]


class StoreQrRotated(EventPayload):
    type = EventType.store_qr_rotated
    subject_type = "store"
    qr_version: int


class OrgCreated(EventPayload):
    type = EventType.org_created
    subject_type = "org"
    name: str


class UserCreated(EventPayload):
    type = EventType.user_created
    subject_type = "user"
    username: str
    role: Role


class UserUpdated(EventPayload):
    type = EventType.user_updated
    subject_type = "user"
    fields: list[str]


class TeamCreated(EventPayload):
    type = EventType.team_created
    subject_type = "team"
    member_ids: list[uuid.UUID]


class TeamUpdated(EventPayload):
    type = EventType.team_updated
    subject_type = "team"
    fields: list[str]


class TeamMembersAdded(EventPayload):
    type = EventType.team_members_added
    subject_type = "team"
    user_ids: list[uuid.UUID]


class TeamMemberRemoved(EventPayload):
    type = EventType.team_member_removed
    subject_type = "team"
    user_id: uuid.UUID


class CustomerTypeCreated(EventPayload):
    type = EventType.customer_type_created
    subject_type = "customer_type"
    key: str


class VisitFormPublished(EventPayload):
    type = EventType.visit_form_published
    subject_type = "visit_form"
    customer_type: str
    version: int
    field_count: int


# --- audits and rectifications ------------------------------------------------------------------


class AuditStarted(EventPayload):
    type = EventType.audit_started
    subject_type = "audit"
    store_id: uuid.UUID
    template_key: str
    template_version: int
    trust_score: int
    flags: list[FlagCode]


class AuditResultsSaved(EventPayload):
    type = EventType.audit_results_saved
    subject_type = "audit"
    item_keys: list[str]


class AuditPhotoAdded(EventPayload):
    type = EventType.audit_photo_added
    subject_type = "audit"
    item_key: str
    sha256: str
    duplicate_of: list[uuid.UUID]


class AuditSubmitted(EventPayload):
    type = EventType.audit_submitted
    subject_type = "audit"
    store_id: uuid.UUID
    auditor_id: uuid.UUID
    percent: float
    band: Literal["green", "amber", "red"]
    passed: bool
    failed_critical: list[str]
    rectification_ids: list[uuid.UUID]


class AuditAbandoned(EventPayload):
    type = EventType.audit_abandoned
    subject_type = "audit"
    reason: str


class AuditTemplateCreated(EventPayload):
    type = EventType.audit_template_created
    subject_type = "audit_template"
    key: str


class AuditChecklistPublished(EventPayload):
    type = EventType.audit_checklist_published
    subject_type = "audit_template"
    template_key: str
    version: int
    item_count: int


class _Rectification(EventPayload):
    """What every rectification event says about its task (as it is now)."""

    subject_type = "rectification"
    audit_id: uuid.UUID
    store_id: uuid.UUID
    item_key: str
    assignee_id: uuid.UUID
    due_at: UtcDatetime


class RectificationCreated(_Rectification):
    type = EventType.rectification_created
    critical: bool


class RectificationPhotoAdded(_Rectification):
    type = EventType.rectification_photo_added
    visit_id: uuid.UUID
    sha256: str
    duplicate_of: list[uuid.UUID]


class RectificationSubmitted(_Rectification):
    type = EventType.rectification_submitted
    visit_id: uuid.UUID | None
    note: str | None


class RectificationVerified(_Rectification):
    type = EventType.rectification_verified
    comment: str | None


class RectificationReopened(_Rectification):
    type = EventType.rectification_reopened
    reason: str


class RectificationOverdue(_Rectification):
    type = EventType.rectification_overdue
    notified: list[uuid.UUID]


# --- webhooks -----------------------------------------------------------------------------------


class Ping(EventPayload):
    """The test button of a webhook endpoint: delivered to that endpoint only."""

    type = EventType.ping
    subject_type = "webhook_endpoint"
    endpoint_id: uuid.UUID


def _payload_classes() -> dict[EventType, type[EventPayload]]:
    found: dict[EventType, type[EventPayload]] = {}
    pending: list[type[EventPayload]] = [EventPayload]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "type" in cls.__dict__:
            found[cls.type] = cls
    return found


# One payload model per type; a test holds the enum and this mapping to each other.
PAYLOADS: dict[EventType, type[EventPayload]] = _payload_classes()


def event_row(payload: EventPayload) -> tuple[str, str, str]:
    """``(type, subject_type, payload JSON)`` for a statement that inserts the event itself."""
    return payload.type.value, payload.subject_type, json.dumps(payload.data())
