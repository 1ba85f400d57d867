"""A visit's own trust rules: the short visit and the duplicate photo (pure: no I/O, no clock).

The door's rules (the code, the geofence, the clock, the presence flags) are the door check's,
``backend.presence.rules``; the flag codes, their weights and the score are
``backend.presence.flags``. Both are re-exported here for the visit's callers. docs/trust.md
explains each rule and its threshold to supervisors.
"""

from datetime import datetime, timedelta

from backend.presence.flags import WEIGHTS, Flag, FlagCode, score_of, trust_score
from backend.presence.rules import (
    CheckInFacts,
    CheckInTime,
    Geofence,
    PreviousCheckIn,
    check_in_flags,
    check_in_time,
    geofence,
)

__all__ = [
    "SHORT_VISIT",
    "WEIGHTS",
    "CheckInFacts",
    "CheckInTime",
    "Flag",
    "FlagCode",
    "Geofence",
    "PreviousCheckIn",
    "check_in_flags",
    "check_in_time",
    "duplicate_photo_flag",
    "geofence",
    "score_of",
    "short_visit_flag",
    "trust_score",
]

SHORT_VISIT = timedelta(minutes=3)


def short_visit_flag(checked_in_at: datetime, submitted_at: datetime) -> Flag | None:
    minutes = (submitted_at - checked_in_at).total_seconds() / 60
    if submitted_at - checked_in_at >= SHORT_VISIT:
        return None
    return Flag(
        FlagCode.short_visit,
        f"拜访仅 {minutes:.1f} 分钟（少于 3 分钟）",
        f"visit lasted {minutes:.1f} min (under 3 min)",
    )


def duplicate_photo_flag(kind: str, other_visit_at: datetime, distance: int) -> Flag:
    how_zh = "完全相同" if distance == 0 else f"高度相似（差异 {distance}）"
    how_en = "identical" if distance == 0 else f"near-identical (distance {distance})"
    day = other_visit_at.date().isoformat()
    return Flag(
        FlagCode.duplicate_photo,
        f"{kind} 照片与 {day} 另一次拜访的照片{how_zh}",
        f"{kind} photo {how_en} to a photo of another visit on {day}",
    )
