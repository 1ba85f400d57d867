"""A visit's own trust rules: the short visit (pure: no I/O, no clock). The duplicate photo
flag is the photos domain's (``backend.photos.rules``), as audits and rectifications raise it too.

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
