"""Trust flags: every code, its weight, and the score they leave (pure: no I/O).

Every flag has a weight; the trust score is 100 minus the weights of the flags raised, floored
at 0. The door's flags are raised by ``backend.presence.rules`` (a visit's check-in, an audit's
start); a visit's photo and submit flags by ``backend.visits.rules``. docs/trust.md explains
each rule and its threshold to supervisors.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FlagCode(StrEnum):
    """Every trust flag a visit can carry (stored as its value in ``flags`` JSONB)."""

    outside_geofence = "outside_geofence"
    impossible_travel = "impossible_travel"
    duplicate_photo = "duplicate_photo"
    future_timestamp = "future_timestamp"
    clock_skew = "clock_skew"
    low_accuracy = "low_accuracy"
    short_visit = "short_visit"
    repeat_same_day = "repeat_same_day"
    queued_offline = "queued_offline"


WEIGHTS: dict[FlagCode, int] = {
    FlagCode.outside_geofence: 40,
    FlagCode.impossible_travel: 40,
    FlagCode.duplicate_photo: 30,
    FlagCode.future_timestamp: 25,
    FlagCode.clock_skew: 15,
    FlagCode.low_accuracy: 10,
    FlagCode.short_visit: 15,
    FlagCode.repeat_same_day: 10,
    FlagCode.queued_offline: 5,
}


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    zh: str
    en: str

    @property
    def weight(self) -> int:
        return WEIGHTS[self.code]

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "weight": self.weight,
            "detail": {"zh": self.zh, "en": self.en},
        }


def trust_score(flags: list[Flag]) -> int:
    return max(0, 100 - sum(flag.weight for flag in flags))


def score_of(flags: list[dict[str, Any]]) -> int:
    """The score of flags as stored on a visit (check-in, photo and submit flags together)."""
    return max(0, 100 - sum(int(flag["weight"]) for flag in flags))
