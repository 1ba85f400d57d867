from typing import Literal

from backend.kit.schemas import ResponseSchema, UtcDatetime
from backend.models import NextActionType, PhotoKind


class TypeLabel(ResponseSchema):
    zh: str
    en: str


class NextActionTypeOption(ResponseSchema):
    value: NextActionType
    label: TypeLabel


class AuditBands(ResponseSchema):
    green: float
    amber: float


class AuditPolicy(ResponseSchema):
    """How an audit is scored, for the audit screen's running score (the formula per item kind
    is DESIGN §5; these are its thresholds)."""

    pass_percent: float
    bands: AuditBands
    scale_fail_below: float


class RectificationDueDays(ResponseSchema):
    """A failed item's default due, in days from the submit, and the latest an auditor may set."""

    critical: int
    default: int
    max: int


class ClientPolicy(ResponseSchema):
    """What the PWA must agree with the server on. Every value comes from the code that enforces
    it, so a client that renders from this never disagrees with a refusal."""

    next_action_horizon_days: int
    photo_kinds: list[PhotoKind]
    photo_max_bytes: int
    photo_long_edge_px: int
    open_visit_max_hours: int
    timezone: str
    locale_default: Literal["zh-CN", "en"]
    next_action_types: list[NextActionTypeOption]
    submit_requires: list[str]
    audit: AuditPolicy
    rectification_due_days: RectificationDueDays
    server_time: UtcDatetime
