"""The visit summary card's read schema: the JSON ``card.build_summary`` stores at submit.

``GET /api/v1/visits/{id}/summary`` and ``VisitRead.summary`` answer with it, so the OpenAPI
document describes every part of the card. The stored JSON is the source and these types read
it back unchanged (a test holds the two to each other); the card image and the share page keep
rendering the stored dict.

TypedDicts rather than models: a summary rides along on every visit of a list (the review
queue), and a dict validated in place costs a fraction of a tree of model instances.
"""

import uuid
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from backend.forms.definitions import FieldType
from backend.kit.schemas import UtcDatetime
from backend.models import NextActionType, PhotoKind
from backend.presence.flags import FlagCode


class SummaryText(TypedDict):
    """A text in both languages."""

    zh: str
    en: str


class SummaryCustomerTypeRead(TypedDict):
    key: str
    name: SummaryText


class SummaryStoreRead(TypedDict):
    name: str
    code: str
    address: str
    customer_type: SummaryCustomerTypeRead


class SummaryRepRead(TypedDict):
    display_name: str


class SummaryLocalRead(TypedDict):
    """The visit's times in the org's timezone, formatted for reading."""

    date: Annotated[str, Field(examples=["2024-05-01"])]
    checked_in: Annotated[str, Field(examples=["2024-05-01 09:30"])]
    checked_out: Annotated[str, Field(examples=["2024-05-01 10:05"])]
    time_range: Annotated[
        str,
        Field(
            examples=["09:30–10:05"],
            description="Gains the check-out date when the visit crosses midnight.",
        ),
    ]


class SummaryFlagRead(TypedDict):
    code: FlagCode
    weight: int
    detail: SummaryText


class SummaryTrustRead(TypedDict):
    score: Annotated[int, Field(ge=0, le=100)]
    level: Literal["high", "medium", "low"]
    flags: Annotated[list[SummaryFlagRead], Field(description="Heaviest first.")]


class SummaryPhotoRead(TypedDict):
    thumb_url: str
    width: int
    height: int


class SummaryTagRead(TypedDict):
    """A customer-profile tag: a chosen form option that carries one."""

    tag: str
    field: str
    label: SummaryText


class SummaryCountdownRead(TypedDict):
    as_of: UtcDatetime
    seconds: Annotated[int, Field(description="Negative once overdue.")]
    overdue: bool
    text: SummaryText


class SummaryNextActionRead(TypedDict):
    type: NextActionType
    type_label: SummaryText
    due_at: UtcDatetime
    due_local: str
    note: str | None
    countdown: Annotated[SummaryCountdownRead, Field(description="As of the submission.")]


class SummaryPendingRead(TypedDict):
    key: str
    label: SummaryText
    items: list[str]


class SummaryAnswerRead(TypedDict):
    key: str
    label: SummaryText
    type: FieldType
    value: Annotated[Any, Field(description="The answer as stored.")]
    display: SummaryText


class SummaryRectificationRead(TypedDict):
    id: uuid.UUID
    item_key: str
    title: SummaryText
    status: str


class SummaryRead(TypedDict):
    """The summary card of a submitted visit, as it was built at submission."""

    version: int
    visit_id: uuid.UUID
    generated_at: UtcDatetime
    timezone: Annotated[str, Field(description="IANA name the local times are in.")]
    utc_offset: Annotated[str, Field(examples=["+08:00"])]
    store: SummaryStoreRead
    rep: SummaryRepRead
    checked_in_at: UtcDatetime
    checked_out_at: UtcDatetime
    local: SummaryLocalRead
    duration_s: int
    duration_min: int
    duration: SummaryText
    distance_m: float | None
    accuracy_m: float | None
    trust: SummaryTrustRead
    photos: dict[PhotoKind, SummaryPhotoRead]
    profile_tags: list[SummaryTagRead]
    next_action: SummaryNextActionRead | None
    pending: list[SummaryPendingRead]
    answers: Annotated[list[SummaryAnswerRead], Field(description="In form order.")]
    rectifications: NotRequired[
        Annotated[
            list[SummaryRectificationRead],
            Field(description="Rectifications whose after photo was taken during the visit."),
        ]
    ]
