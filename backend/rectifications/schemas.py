import uuid
from typing import Annotated, Literal

from pydantic import StringConstraints

from backend.kit.schemas import CleanStr, LocalizedText, ResponseSchema, Schema, UtcDatetime
from backend.models.rectification import RectificationStatus

Note = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=1000)]
Reason = Annotated[
    CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]


class SubmitRequest(Schema):
    note: Note = ""


class VerifyRequest(Schema):
    comment: Note = ""


class ReopenRequest(Schema):
    reason: Reason


class RectificationStore(ResponseSchema):
    """The store the task is at (never its door code)."""

    id: uuid.UUID
    code: str
    name: str


class RectificationUser(ResponseSchema):
    id: uuid.UUID
    display_name: str


class HistoryEntry(ResponseSchema):
    """One step: who moved the task to ``status``, when, and why (``by`` null: the system)."""

    status: RectificationStatus
    at: UtcDatetime
    by: RectificationUser | None
    reason: str | None


class AfterPhotoRead(ResponseSchema):
    sha256: str
    width: int
    height: int
    bytes: int
    url: str
    thumb_url: str
    taken_at: UtcDatetime
    # False once the task was reopened after this photo: submitting needs a new one.
    current: bool
    flags: list[dict[str, object]]


class RectificationRead(ResponseSchema):
    id: uuid.UUID
    audit_id: uuid.UUID
    store: RectificationStore
    item_key: str
    title: LocalizedText
    critical: bool
    assignee: RectificationUser
    raised_by: RectificationUser
    due_at: UtcDatetime
    status: RectificationStatus
    # Still owed (open or reopened) and past due at server_time.
    overdue: bool
    before_photo_url: str | None
    after_photo_url: str | None
    after_photo: AfterPhotoRead | None
    visit_id: uuid.UUID | None
    note: str
    submit_note: str | None
    submitted_at: UtcDatetime | None
    verified_at: UtcDatetime | None
    reopened_at: UtcDatetime | None
    created_at: UtcDatetime
    history: list[HistoryEntry]
    # The countdown is due_at - server_time, so a client with a wrong clock still shows it right.
    server_time: UtcDatetime


class RectificationPage(ResponseSchema):
    items: list[RectificationRead]
    next_cursor: str | None
    server_time: UtcDatetime


class RectificationFilters(Schema):
    assignee: Literal["me"] | uuid.UUID | None = None
    status: RectificationStatus | None = None
    overdue: bool | None = None
    store_id: uuid.UUID | None = None
