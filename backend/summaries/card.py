"""The visit summary card's content (pure: no I/O, no clock of its own).

:func:`build_summary` turns plain values gathered at submit into a JSON-ready dict. It is built
once, when the visit is submitted, and stored as is (JSONB); the JSON endpoint, the PNG card
(:mod:`backend.summaries.png`) and the shared read-only page (:mod:`backend.summaries.page`) all
render that stored dict, so what a supervisor approved is what anyone is later shown.

The dict (``version`` 1)::

    version          1
    visit_id         str (UUID)
    generated_at     UTC ISO-8601 with Z (the submit time unless given)
    timezone         IANA name the local strings are in, e.g. "Asia/Shanghai"
    utc_offset       "+08:00" at check-in
    store            {name, code, address, customer_type: {key, name: {zh, en}}}
    rep              {display_name}
    checked_in_at    UTC ISO Z
    checked_out_at   UTC ISO Z (the submit time: the check-out lock)
    local            {date "2024-05-01", checked_in "2024-05-01 09:30",
                      checked_out "2024-05-01 10:05", time_range "09:30–10:05"}
                      (time_range gains the check-out date when the visit crosses midnight)
    duration_s       int, whole seconds (never negative)
    duration_min     int, whole minutes elapsed (floor)
    duration         {zh "35 分钟", en "35 min"}  ("1 小时 5 分钟" / "1 h 5 min")
    distance_m       float | None, from the store at check-in
    accuracy_m       float | None
    trust            {score 0-100, level "high" (>= 80) | "medium" (50-79) | "low" (< 50),
                      flags: [{code, weight, detail: {zh, en}}]}  (heaviest first)
    photos           {kind: {thumb_url, width, height}}  (storefront, shelf, conversation order)
    profile_tags     [{tag, field, label: {zh, en}}]
    next_action      None | {type, type_label: {zh, en}, due_at (UTC Z), due_local, note,
                      countdown: {as_of (UTC Z), seconds (negative when overdue), overdue,
                                  text: {zh "还剩 2 天 3 小时", en "due in 2 d 3 h"}}}
    pending          [{key, label: {zh, en}, items: [str]}]   (empty lists left out)
    answers          [{key, label: {zh, en}, type, value, display: {zh, en}}]  (form order)
    rectifications   [{id, item_key, title: {zh, en}, status}]  the audit rectifications
                     whose after photo was taken during this visit (the fix proven at the door;
                     left out of cards stored before audits existed)
"""

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

# The next-action types' names are the actions domain's, one set for every reader.
from backend.actions.labels import ACTION_TYPE_LABELS as ACTION_TYPE_LABELS
from backend.actions.labels import type_label
from backend.kit.time import isoformat_z

SUMMARY_VERSION: Final = 1

PHOTO_KINDS: Final = ("storefront", "shelf", "conversation")

TRUST_HIGH: Final = 80
TRUST_MEDIUM: Final = 50

Label = Mapping[str, str]
"""A bilingual text: ``{"zh": ..., "en": ...}`` (either may be missing)."""


@dataclass(frozen=True)
class SummaryStore:
    name: str
    code: str
    address: str
    customer_type: str  # key, e.g. "pharmacy"
    customer_type_name: Label = field(default_factory=dict)


@dataclass(frozen=True)
class SummaryFlag:
    code: str
    weight: int
    detail: Label


@dataclass(frozen=True)
class SummaryPhoto:
    thumb_url: str
    width: int
    height: int


@dataclass(frozen=True)
class SummaryTag:
    tag: str
    field: str
    label: Label


@dataclass(frozen=True)
class SummaryNextAction:
    type: str
    due_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class SummaryPending:
    key: str
    label: Label
    items: Sequence[str]


@dataclass(frozen=True)
class SummaryAnswer:
    key: str
    label: Label
    type: str
    value: Any  # JSON-ready, as stored
    display: Label | None = None  # None: formatted from value by :func:`display_value`


@dataclass(frozen=True)
class SummaryRectification:
    id: uuid.UUID
    item_key: str
    title: Label
    status: str


@dataclass(frozen=True)
class SummaryInput:
    visit_id: uuid.UUID
    store: SummaryStore
    rep_display_name: str
    checked_in_at: datetime
    checked_out_at: datetime
    trust_score: int
    timezone: str = "Asia/Shanghai"
    distance_m: float | None = None
    accuracy_m: float | None = None
    flags: Sequence[SummaryFlag] = ()
    photos: Mapping[str, SummaryPhoto] = field(default_factory=dict)
    profile_tags: Sequence[SummaryTag] = ()
    next_action: SummaryNextAction | None = None
    pending: Sequence[SummaryPending] = ()
    answers: Sequence[SummaryAnswer] = ()
    rectifications: Sequence[SummaryRectification] = ()
    generated_at: datetime | None = None  # None: checked_out_at


def build_summary(data: SummaryInput) -> dict[str, Any]:
    """The summary card's content as a JSON-ready dict (keys in the module docstring)."""
    tz = _zone(data.timezone)
    checked_in = _aware(data.checked_in_at)
    checked_out = _aware(data.checked_out_at)
    elapsed = max(0, math.floor((checked_out - checked_in).total_seconds()))
    local_in, local_out = checked_in.astimezone(tz), checked_out.astimezone(tz)
    out_fmt = "%H:%M" if local_in.date() == local_out.date() else "%Y-%m-%d %H:%M"
    generated = _aware(data.generated_at) if data.generated_at is not None else checked_out
    return {
        "version": SUMMARY_VERSION,
        "visit_id": str(data.visit_id),
        "generated_at": isoformat_z(generated),
        "timezone": data.timezone if isinstance(tz, ZoneInfo) else "UTC",
        "utc_offset": _offset(local_in),
        "store": {
            "name": data.store.name,
            "code": data.store.code,
            "address": data.store.address,
            "customer_type": {
                "key": data.store.customer_type,
                "name": _label(data.store.customer_type_name, data.store.customer_type),
            },
        },
        "rep": {"display_name": data.rep_display_name},
        "checked_in_at": isoformat_z(checked_in),
        "checked_out_at": isoformat_z(checked_out),
        "local": {
            "date": local_in.strftime("%Y-%m-%d"),
            "checked_in": local_in.strftime("%Y-%m-%d %H:%M"),
            "checked_out": local_out.strftime("%Y-%m-%d %H:%M"),
            "time_range": f"{local_in:%H:%M}–{local_out.strftime(out_fmt)}",
        },
        "duration_s": elapsed,
        "duration_min": elapsed // 60,
        "duration": duration_text(elapsed),
        "distance_m": _round(data.distance_m),
        "accuracy_m": _round(data.accuracy_m),
        "trust": {
            "score": max(0, min(100, int(data.trust_score))),
            "level": trust_level(data.trust_score),
            "flags": [
                {"code": f.code, "weight": f.weight, "detail": _label(f.detail, f.code)}
                for f in sorted(data.flags, key=lambda f: -f.weight)
            ],
        },
        "photos": {
            kind: {"thumb_url": photo.thumb_url, "width": photo.width, "height": photo.height}
            for kind, photo in sorted(data.photos.items(), key=lambda kv: _kind_order(kv[0]))
        },
        "profile_tags": [
            {"tag": t.tag, "field": t.field, "label": _label(t.label, t.tag)}
            for t in data.profile_tags
        ],
        "next_action": _next_action(data.next_action, checked_out, tz),
        "pending": [
            {"key": p.key, "label": _label(p.label, p.key), "items": [str(i) for i in p.items]}
            for p in data.pending
            if p.items
        ],
        "answers": [
            {
                "key": a.key,
                "label": _label(a.label, a.key),
                "type": a.type,
                "value": a.value,
                "display": _label(a.display, "") if a.display else display_value(a.value),
            }
            for a in data.answers
        ],
        "rectifications": [
            {
                "id": str(r.id),
                "item_key": r.item_key,
                "title": _label(r.title, r.item_key),
                "status": r.status,
            }
            for r in data.rectifications
        ],
    }


def trust_level(score: int) -> str:
    if score >= TRUST_HIGH:
        return "high"
    return "medium" if score >= TRUST_MEDIUM else "low"


def duration_text(seconds: int) -> dict[str, str]:
    """Whole minutes elapsed in words: ``{"zh": "1 小时 5 分钟", "en": "1 h 5 min"}``."""
    minutes = max(0, seconds) // 60
    if minutes < 1:
        return {"zh": "不到 1 分钟", "en": "under 1 min"}
    hours, mins = divmod(minutes, 60)
    if hours == 0:
        return {"zh": f"{mins} 分钟", "en": f"{mins} min"}
    if mins == 0:
        return {"zh": f"{hours} 小时", "en": f"{hours} h"}
    return {"zh": f"{hours} 小时 {mins} 分钟", "en": f"{hours} h {mins} min"}


def countdown(due_at: datetime, as_of: datetime) -> dict[str, Any]:
    """Time left until ``due_at`` as seen at ``as_of`` (negative seconds once overdue).

    Days and hours when a day or more is left, hours and minutes under a day, minutes under an
    hour (rounded down, so the countdown never promises more time than there is).
    """
    seconds = math.floor((_aware(due_at) - _aware(as_of)).total_seconds())
    span = _span(abs(seconds))
    if seconds >= 0:
        text = {"zh": f"还剩 {span['zh']}", "en": f"due in {span['en']}"}
    else:
        text = {"zh": f"已逾期 {span['zh']}", "en": f"overdue by {span['en']}"}
    return {"as_of": isoformat_z(as_of), "seconds": seconds, "overdue": seconds < 0, "text": text}


def display_value(value: Any) -> dict[str, str]:
    """A readable rendering of a stored answer when the caller gave none."""
    if value is None or value == "" or value == []:
        return {"zh": "—", "en": "—"}
    if isinstance(value, bool):
        return {"zh": "是" if value else "否", "en": "Yes" if value else "No"}
    if isinstance(value, float):
        text = f"{value:g}"
        return {"zh": text, "en": text}
    if isinstance(value, Mapping):
        zh = "，".join(f"{k}：{display_value(v)['zh']}" for k, v in value.items())
        en = ", ".join(f"{k}: {display_value(v)['en']}" for k, v in value.items())
        return {"zh": zh, "en": en}
    if isinstance(value, list | tuple):
        parts = [display_value(v) for v in value]
        if any(isinstance(v, Mapping) for v in value):  # table rows
            return {
                "zh": "；".join(p["zh"] for p in parts),
                "en": "; ".join(p["en"] for p in parts),
            }
        return {"zh": "、".join(p["zh"] for p in parts), "en": ", ".join(p["en"] for p in parts)}
    return {"zh": str(value), "en": str(value)}


# --- helpers ---------------------------------------------------------------------------------


def _next_action(
    action: SummaryNextAction | None, as_of: datetime, tz: tzinfo
) -> dict[str, Any] | None:
    if action is None:
        return None
    due = _aware(action.due_at)
    return {
        "type": action.type,
        "type_label": type_label(action.type),
        "due_at": isoformat_z(due),
        "due_local": due.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "note": action.note or None,
        "countdown": countdown(due, as_of),
    }


def _span(seconds: int) -> dict[str, str]:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        if hours:
            return {"zh": f"{days} 天 {hours} 小时", "en": f"{days} d {hours} h"}
        return {"zh": f"{days} 天", "en": f"{days} d"}
    if hours:
        if minutes:
            return {"zh": f"{hours} 小时 {minutes} 分钟", "en": f"{hours} h {minutes} min"}
        return {"zh": f"{hours} 小时", "en": f"{hours} h"}
    if minutes:
        return {"zh": f"{minutes} 分钟", "en": f"{minutes} min"}
    return {"zh": "不到 1 分钟", "en": "under 1 min"}


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # unknown or malformed name: fall back to UTC
        return UTC


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _offset(value: datetime) -> str:
    delta = value.utcoffset() or timedelta(0)
    total = int(delta.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 1)


def _label(label: Label | None, fallback: str) -> dict[str, str]:
    label = label or {}
    zh = label.get("zh") or label.get("en") or fallback
    en = label.get("en") or label.get("zh") or fallback
    return {"zh": zh, "en": en}


def _kind_order(kind: str) -> tuple[int, str]:
    return (PHOTO_KINDS.index(kind) if kind in PHOTO_KINDS else len(PHOTO_KINDS), kind)


# Readers of a stored summary (the card image, the share page) treat its numbers defensively:
# a summary is JSON from the database, and an old or hand-edited one must still render.
def number_text(value: object) -> str:
    """A stored number as whole-unit text, or a dash when it is missing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):.0f}"
    return "—"


def as_int(value: object) -> int:
    """A stored number as an int, or 0 when it is missing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return 0
