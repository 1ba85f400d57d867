"""The rules that make a check-in trustworthy (pure: no I/O, no clock of their own).

Every flag has a weight; the trust score is 100 minus the weights of the flags raised, floored at
0. docs/trust.md explains each rule and its threshold to supervisors.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.kit.geo import haversine_m

ACCURACY_CREDIT_CAP_M = 100.0
LOW_ACCURACY_M = 100.0
CLOCK_SKEW_LIMIT = timedelta(minutes=5)
FUTURE_TOLERANCE = timedelta(seconds=60)
IMPOSSIBLE_SPEED_KMH = 200.0
IMPOSSIBLE_MIN_DISTANCE_M = 1000.0
SHORT_VISIT = timedelta(minutes=3)

WEIGHTS: dict[str, int] = {
    "outside_geofence": 40,
    "impossible_travel": 40,
    "duplicate_photo": 30,
    "future_timestamp": 25,
    "clock_skew": 15,
    "low_accuracy": 10,
    "short_visit": 15,
    "repeat_same_day": 10,
    "queued_offline": 5,
}


@dataclass(frozen=True)
class Flag:
    code: str
    zh: str
    en: str

    @property
    def weight(self) -> int:
        return WEIGHTS[self.code]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "weight": self.weight, "detail": {"zh": self.zh, "en": self.en}}


@dataclass(frozen=True)
class Geofence:
    distance_m: float
    accuracy_m: float
    radius_m: int

    @property
    def effective_m(self) -> float:
        """Distance with the benefit of the doubt the fix's accuracy allows (at most 100 m)."""
        return max(0.0, self.distance_m - min(self.accuracy_m, ACCURACY_CREDIT_CAP_M))

    @property
    def inside(self) -> bool:
        return self.effective_m <= self.radius_m


def geofence(
    lat: float, lng: float, accuracy_m: float, store_lat: float, store_lng: float, radius_m: int
) -> Geofence:
    # Decimetre precision, as stored and reported: a fix exactly at the edge stays at the edge.
    distance = round(haversine_m(lat, lng, store_lat, store_lng), 1)
    return Geofence(distance, accuracy_m, radius_m)


@dataclass(frozen=True)
class CheckInTime:
    checked_in_at: datetime
    clock_offset: timedelta


def check_in_time(
    captured_at: datetime, device_time: datetime, server_received_at: datetime
) -> CheckInTime:
    """Correct the phone's clock: the offset between server and device applies to the capture."""
    offset = server_received_at - device_time
    return CheckInTime(captured_at + offset, offset)


@dataclass(frozen=True)
class PreviousCheckIn:
    lat: float
    lng: float
    at: datetime


def travel_speed_kmh(
    previous: PreviousCheckIn, lat: float, lng: float, at: datetime
) -> tuple[float, float]:
    """Distance (m) and speed (km/h) from the previous check-in; infinite speed for no time."""
    distance = haversine_m(previous.lat, previous.lng, lat, lng)
    hours = abs((at - previous.at).total_seconds()) / 3600
    speed = distance / 1000 / hours if hours > 0 else float("inf")
    return distance, speed


@dataclass(frozen=True)
class CheckInFacts:
    lat: float
    lng: float
    fence: Geofence
    time: CheckInTime
    captured_at: datetime
    device_time: datetime
    queued_offline: bool
    previous: PreviousCheckIn | None
    same_store_same_day: bool


def check_in_flags(facts: CheckInFacts) -> list[Flag]:
    """Every flag the check-in itself raises (photos and submit add theirs later)."""
    checks = (
        _outside_geofence,
        _low_accuracy,
        _clock_skew,
        _future_timestamp,
        _impossible_travel,
        _repeat_same_day,
        _queued_offline,
    )
    return [flag for check in checks if (flag := check(facts)) is not None]


def _outside_geofence(facts: CheckInFacts) -> Flag | None:
    fence = facts.fence
    if fence.inside:
        return None
    return Flag(
        "outside_geofence",
        f"离门店 {fence.distance_m:.0f} 米（范围 {fence.radius_m} 米，精度 "
        f"{fence.accuracy_m:.0f} 米），离线签到",
        f"{fence.distance_m:.0f} m from the store (radius {fence.radius_m} m, accuracy "
        f"{fence.accuracy_m:.0f} m), checked in offline",
    )


def _low_accuracy(facts: CheckInFacts) -> Flag | None:
    accuracy = facts.fence.accuracy_m
    if accuracy <= LOW_ACCURACY_M:
        return None
    return Flag(
        "low_accuracy",
        f"定位精度 {accuracy:.0f} 米，超过 {LOW_ACCURACY_M:.0f} 米",
        f"position accuracy {accuracy:.0f} m is worse than {LOW_ACCURACY_M:.0f} m",
    )


def _clock_skew(facts: CheckInFacts) -> Flag | None:
    offset = facts.time.clock_offset
    if abs(offset) <= CLOCK_SKEW_LIMIT:
        return None
    seconds = offset.total_seconds()
    return Flag(
        "clock_skew",
        f"手机时间与服务器相差 {_human_duration_zh(seconds)}，已按服务器时间校正",
        f"phone clock off by {_human_duration_en(seconds)}; corrected to server time",
    )


def _future_timestamp(facts: CheckInFacts) -> Flag | None:
    if facts.captured_at <= facts.device_time + FUTURE_TOLERANCE:
        return None
    return Flag(
        "future_timestamp",
        "定位时间晚于手机提交时间",
        "the position was captured after the phone says it sent it",
    )


def _impossible_travel(facts: CheckInFacts) -> Flag | None:
    if facts.previous is None:
        return None
    distance, speed = travel_speed_kmh(
        facts.previous, facts.lat, facts.lng, facts.time.checked_in_at
    )
    if distance <= IMPOSSIBLE_MIN_DISTANCE_M or speed <= IMPOSSIBLE_SPEED_KMH:
        return None
    return Flag(
        "impossible_travel",
        f"距上次签到 {distance / 1000:.1f} 公里，需时速 {min(speed, 99_999):.0f} 公里",
        f"{distance / 1000:.1f} km from the previous check-in at {min(speed, 99_999):.0f} km/h",
    )


def _repeat_same_day(facts: CheckInFacts) -> Flag | None:
    if not facts.same_store_same_day:
        return None
    return Flag(
        "repeat_same_day", "同一天重复拜访同一门店", "same store visited again the same day"
    )


def _queued_offline(facts: CheckInFacts) -> Flag | None:
    if not facts.queued_offline:
        return None
    return Flag("queued_offline", "离线签到，联网后补传", "checked in offline and synced later")


def short_visit_flag(checked_in_at: datetime, submitted_at: datetime) -> Flag | None:
    minutes = (submitted_at - checked_in_at).total_seconds() / 60
    if submitted_at - checked_in_at >= SHORT_VISIT:
        return None
    return Flag(
        "short_visit",
        f"拜访仅 {minutes:.1f} 分钟（少于 3 分钟）",
        f"visit lasted {minutes:.1f} min (under 3 min)",
    )


def duplicate_photo_flag(kind: str, other_visit_at: datetime, distance: int) -> Flag:
    how_zh = "完全相同" if distance == 0 else f"高度相似（差异 {distance}）"
    how_en = "identical" if distance == 0 else f"near-identical (distance {distance})"
    day = other_visit_at.date().isoformat()
    return Flag(
        "duplicate_photo",
        f"{kind} 照片与 {day} 另一次拜访的照片{how_zh}",
        f"{kind} photo {how_en} to a photo of another visit on {day}",
    )


def trust_score(flags: list[Flag]) -> int:
    return max(0, 100 - sum(flag.weight for flag in flags))


def score_of(flags: list[dict[str, Any]]) -> int:
    """The score of flags as stored on a visit (check-in, photo and submit flags together)."""
    return max(0, 100 - sum(int(flag["weight"]) for flag in flags))


def _human_duration_en(seconds: float) -> str:
    sign = "+" if seconds >= 0 else "-"
    minutes = abs(seconds) / 60
    return f"{sign}{minutes / 60:.1f} h" if minutes >= 90 else f"{sign}{minutes:.0f} min"


def _human_duration_zh(seconds: float) -> str:
    direction = "慢" if seconds >= 0 else "快"
    minutes = abs(seconds) / 60
    amount = f"{minutes / 60:.1f} 小时" if minutes >= 90 else f"{minutes:.0f} 分钟"
    return f"{amount}（手机{direction}）"
