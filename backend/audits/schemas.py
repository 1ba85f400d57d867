import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from backend.kit.schemas import CleanStr, ResponseSchema, Schema, UtcDatetime
from backend.rectifications.schemas import RectificationRead
from backend.visits.schemas import CheckIn, CheckInRequest, Trust, VisitStore

TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Note = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=1000)]
Reason = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


# --- templates ---------------------------------------------------------------------------------


class AuditTemplateCreate(Schema):
    key: TemplateKey
    name: Annotated[
        CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    name_en: (
        Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    customer_types: list[TemplateKey] = Field(default_factory=list, max_length=100)


class ChecklistRead(ResponseSchema):
    key: str  # the template's key
    version: int
    items: list[dict[str, Any]]


class AuditTemplateRead(ResponseSchema):
    key: str
    name: str
    name_en: str | None
    customer_types: list[str]
    checklist: ChecklistRead | None


# --- audits ------------------------------------------------------------------------------------


class AuditStartRequest(CheckInRequest):
    """The check-in body (the same door check), and which template to audit with."""

    template_key: TemplateKey | None = None


class ResultsRequest(Schema):
    # Validated against the pinned checklist by backend.audits.results (every bad entry with
    # its pointer at once, as ``invalid_audit``), not here.
    results: dict[str, Any]


class RectificationChoice(Schema):
    item_key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    assignee_id: uuid.UUID | None = None
    due_at: UtcDatetime | None = None
    note: Note = ""


class SubmitRequest(Schema):
    rectifications: list[RectificationChoice] = Field(default_factory=list, max_length=100)


class AbandonRequest(Schema):
    reason: Reason


class Auditor(ResponseSchema):
    id: uuid.UUID
    username: str
    display_name: str


class ItemResult(ResponseSchema):
    result: Literal["pass", "fail", "na"] | None
    value: float | None
    note: str | None
    photo_url: str | None
    failed: bool


class ScoreRead(ResponseSchema):
    earned: float
    possible: float
    percent: float
    band: Literal["green", "amber", "red"]
    failed_critical: list[str]


class PreviousAudit(ResponseSchema):
    id: uuid.UUID
    percent: float
    band: Literal["green", "amber", "red"] | None
    submitted_at: UtcDatetime | None


class AuditRead(ResponseSchema):
    id: uuid.UUID
    store: VisitStore
    auditor: Auditor
    status: Literal["open", "submitted", "abandoned"]
    started_at: UtcDatetime
    submitted_at: UtcDatetime | None
    abandoned_at: UtcDatetime | None
    abandon_reason: str | None
    check_in: CheckIn
    template: ChecklistRead
    results: dict[str, ItemResult]
    # The running score while open (over the items answered so far), the final one once
    # submitted; None before any item is scored.
    score: ScoreRead | None
    passed: bool | None
    trust: Trust
    rectifications: list[RectificationRead]
    previous: PreviousAudit | None
    server_time: UtcDatetime
