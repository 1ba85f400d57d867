import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from backend.actions.schemas import NextActionRead
from backend.kit.schemas import (
    CleanStr,
    Latitude,
    LocalizedText,
    Longitude,
    ResponseSchema,
    Schema,
    UtcDatetime,
)
from backend.models import PhotoKind
from backend.models.visit import VisitStatus
from backend.presence.flags import FlagCode
from backend.summaries.schemas import SummaryRead

AccuracyM = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]
QrText = Annotated[
    CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)
]
Reason = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Position(Schema):
    lat: Latitude
    lng: Longitude
    accuracy_m: AccuracyM
    captured_at: UtcDatetime


class CheckInRequest(Schema):
    id: uuid.UUID
    qr: QrText
    position: Position
    device_time: UtcDatetime
    queued_offline: bool = False


class AbandonRequest(Schema):
    reason: Reason


class VisitStore(ResponseSchema):
    id: uuid.UUID
    code: str
    name: str
    address: str
    lat: float
    lng: float
    customer_type: str
    geofence_radius_m: int


class VisitRep(ResponseSchema):
    id: uuid.UUID
    username: str
    display_name: str


class CheckIn(ResponseSchema):
    lat: float
    lng: float
    accuracy_m: float
    distance_m: float
    captured_at: UtcDatetime
    device_time: UtcDatetime
    server_received_at: UtcDatetime
    clock_offset_s: float
    queued_offline: bool


class FlagRead(ResponseSchema):
    """A trust flag: what was noticed, in both languages, and what it took off the score."""

    code: FlagCode
    weight: int
    detail: LocalizedText
    kind: PhotoKind | None = None  # for photo flags: which photo
    item_key: str | None = None  # for an audit item photo's flag: which item


class PhotoFlagRead(FlagRead):
    """A photo's trust flag: it duplicates a photo of another visit, an audit photo or a
    rectification photo (one of the ``other_*`` ids is set)."""

    kind: PhotoKind
    other_visit_id: uuid.UUID | None = None
    other_audit_id: uuid.UUID | None = None
    other_rectification_id: uuid.UUID | None = None


class Trust(ResponseSchema):
    score: int
    flags: list[FlagRead]


class PhotoRead(ResponseSchema):
    kind: str
    sha256: str
    width: int
    height: int
    bytes: int
    url: str
    thumb_url: str
    flags: list[PhotoFlagRead]
    captured_at: UtcDatetime | None
    taken_at: UtcDatetime


class VisitForm(ResponseSchema):
    customer_type: str
    version: int
    fields: list[dict[str, Any]]


class ReviewRead(ResponseSchema):
    decision: str
    comment: str | None
    reviewer_id: uuid.UUID
    at: UtcDatetime


class AnswersRequest(Schema):
    answers: dict[str, Any]


class ApproveRequest(Schema):
    comment: (
        Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=1000)] | None
    ) = None


class RejectRequest(Schema):
    reason: Annotated[
        CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ]


class VisitRead(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    store: VisitStore
    rep: VisitRep
    status: VisitStatus
    checked_in_at: UtcDatetime
    checked_out_at: UtcDatetime | None
    abandoned_at: UtcDatetime | None
    abandon_reason: str | None
    check_in: CheckIn
    form: VisitForm | None = None
    answers: dict[str, Any] | None = None
    photos: dict[str, PhotoRead] = Field(default_factory=dict)
    next_action: NextActionRead | None = None
    trust: Trust
    submitted_at: UtcDatetime | None = None
    submit_count: int = 0
    reviews: list[ReviewRead] = Field(default_factory=list)
    summary: SummaryRead | None = None
    server_time: UtcDatetime


class VisitFilters(Schema):
    status: VisitStatus | None = None
    rep_id: uuid.UUID | None = None
    store_id: uuid.UUID | None = None
    from_: datetime | None = None
    to: datetime | None = None
    flagged: bool | None = None
