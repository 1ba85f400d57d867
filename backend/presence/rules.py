"""The door check: everything that starts at a store's door (pure: no I/O, no clock of its own).

A visit's check-in uses it today and an audit tour's start next (DESIGN §5, §6): same inputs,
same answers, same error bodies.

1. The scanned code must be the store's current, genuine code for the caller's organization,
   else ``invalid_qr`` (:func:`scanned_token`, :func:`verified_store`).
2. The position must be inside the store's geofence, with the benefit of the fix's accuracy
   (at most 100 m), else ``outside_geofence`` with distance, radius and accuracy; an arrival
   queued offline is accepted and flagged instead (:func:`geofence`, :func:`fence_or_refuse`).
3. The time is the capture time corrected by the phone's clock offset (:func:`check_in_time`).
4. The presence flags (:func:`check_in_flags`).

:func:`arrive` takes what the phone sent, as the server received it (token, corrected time);
:func:`door_check` then runs 1, 2 and 4 on the facts the caller read from the database.
docs/trust.md explains each rule and its threshold.
"""

import hashlib
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from backend.kit.geo import haversine_m
from backend.presence.exceptions import ImplausibleTime, InvalidQr, OutsideGeofence
from backend.presence.flags import Flag, FlagCode
from backend.stores import qr

ACCURACY_CREDIT_CAP_M = 100.0
LOW_ACCURACY_M = 100.0
CLOCK_SKEW_LIMIT = timedelta(minutes=5)
FUTURE_TOLERANCE = timedelta(seconds=60)
IMPOSSIBLE_SPEED_KMH = 200.0
IMPOSSIBLE_MIN_DISTANCE_M = 1000.0

# --- what the check reads -----------------------------------------------------------------------


class StoreAtDoor(Protocol):
    """What the door check needs of a store (a ``Store`` row or a :class:`DoorStore`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...
    @property
    def geofence_radius_m(self) -> int: ...
    @property
    def qr_version(self) -> int: ...


class SigningKeys(Protocol):
    """The organization's door-code keys (an ``Organization`` row or :class:`OrgKeys`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def signing_secret(self) -> bytes: ...
    @property
    def signing_key_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DoorStore:
    """A store as those who start at its door read it (a hot path's own SQL fills it)."""

    id: uuid.UUID
    code: str
    name: str
    address: str
    lat: float
    lng: float
    geofence_radius_m: int
    customer_type: str
    qr_version: int


@dataclass(frozen=True, slots=True)
class OrgKeys:
    """The organization's door-code keys; ``id`` is the organization's."""

    id: uuid.UUID
    signing_secret: bytes
    signing_key_version: int


class Fix(Protocol):
    """The phone's position fix."""

    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...
    @property
    def accuracy_m(self) -> float: ...
    @property
    def captured_at(self) -> datetime: ...


class DoorRequest(Protocol):
    """What the phone sends from the door (the check-in body; an audit's start carries it too):
    the scanned code, the fix, its clock when it sent this attempt, and whether it was queued
    offline."""

    @property
    def qr(self) -> str: ...
    @property
    def position(self) -> Fix: ...
    @property
    def device_time(self) -> datetime: ...
    @property
    def queued_offline(self) -> bool: ...


# --- 1. the door code ---------------------------------------------------------------------------


def scanned_token(qr_text: str) -> qr.QrToken | None:
    """The well-formed token in a scanned code (the bare token or the whole URL; its MAC is not
    checked yet), else None."""
    token_text = qr.extract_token(qr_text)
    return qr.parse_token(token_text) if token_text else None


S = TypeVar("S", bound=StoreAtDoor)


def verified_store(
    secret: bytes, token: qr.QrToken | None, store: S | None, keys: SigningKeys | None
) -> S:
    """``store`` if ``token`` is its current, genuine code; else ``InvalidQr`` saying why.

    ``store`` and ``keys`` are the token's store and its organization's keys as found within the
    caller's organization (None when there is no such store there): a code of another
    organization, or of a store that is not there, is invalid like a forged one.
    """
    if token is None or store is None or keys is None or store.id != token.store_id:
        raise InvalidQr()
    if token.key_version != keys.signing_key_version % 65536:
        raise InvalidQr("This code has been retired; print the store's current poster.")
    if not qr.mac_is_valid(secret, keys.id, keys.signing_secret, token):
        raise InvalidQr()
    if token.qr_version != store.qr_version % 65536:
        raise InvalidQr("This code has been replaced; print the store's current poster.")
    return store


# --- 2. the geofence ----------------------------------------------------------------------------


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


def fence_or_refuse(request: DoorRequest, store: StoreAtDoor) -> Geofence:
    """Where the phone stands against the store's fence; outside is refused
    (``outside_geofence``) unless queued offline: a phone that queued it cannot be asked to walk
    back, so the arrival is flagged instead."""
    position = request.position
    fence = geofence(
        position.lat,
        position.lng,
        position.accuracy_m,
        store.lat,
        store.lng,
        store.geofence_radius_m,
    )
    if not fence.inside and not request.queued_offline:
        raise OutsideGeofence(fence)
    return fence


# --- 3. the clock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInTime:
    checked_in_at: datetime
    clock_offset: timedelta


def check_in_time(
    captured_at: datetime, device_time: datetime, server_received_at: datetime
) -> CheckInTime:
    """Correct the phone's clock: the offset between server and device applies to the capture."""
    offset = server_received_at - device_time
    try:
        return CheckInTime(captured_at + offset, offset)
    except OverflowError:  # a clock in year 1 or 9999: no corrected time exists
        raise ImplausibleTime() from None


# --- 4. the presence flags ----------------------------------------------------------------------


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
    """Every flag the arrival at the door raises (a visit's photos and submit add theirs)."""
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
        FlagCode.outside_geofence,
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
        FlagCode.low_accuracy,
        f"定位精度 {accuracy:.0f} 米，超过 {LOW_ACCURACY_M:.0f} 米",
        f"position accuracy {accuracy:.0f} m is worse than {LOW_ACCURACY_M:.0f} m",
    )


def _clock_skew(facts: CheckInFacts) -> Flag | None:
    offset = facts.time.clock_offset
    if abs(offset) <= CLOCK_SKEW_LIMIT:
        return None
    seconds = offset.total_seconds()
    return Flag(
        FlagCode.clock_skew,
        f"手机时间与服务器相差 {_human_duration_zh(seconds)}，已按服务器时间校正",
        f"phone clock off by {_human_duration_en(seconds)}; corrected to server time",
    )


def _future_timestamp(facts: CheckInFacts) -> Flag | None:
    if facts.captured_at <= facts.device_time + FUTURE_TOLERANCE:
        return None
    return Flag(
        FlagCode.future_timestamp,
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
        FlagCode.impossible_travel,
        f"距上次签到 {distance / 1000:.1f} 公里，需时速 {min(speed, 99_999):.0f} 公里",
        f"{distance / 1000:.1f} km from the previous check-in at {min(speed, 99_999):.0f} km/h",
    )


def _repeat_same_day(facts: CheckInFacts) -> Flag | None:
    if not facts.same_store_same_day:
        return None
    return Flag(
        FlagCode.repeat_same_day, "同一天重复拜访同一门店", "same store visited again the same day"
    )


def _queued_offline(facts: CheckInFacts) -> Flag | None:
    if not facts.queued_offline:
        return None
    return Flag(
        FlagCode.queued_offline, "离线签到，联网后补传", "checked in offline and synced later"
    )


def _human_duration_en(seconds: float) -> str:
    sign = "+" if seconds >= 0 else "-"
    minutes = abs(seconds) / 60
    return f"{sign}{minutes / 60:.1f} h" if minutes >= 90 else f"{sign}{minutes:.0f} min"


def _human_duration_zh(seconds: float) -> str:
    direction = "慢" if seconds >= 0 else "快"
    minutes = abs(seconds) / 60
    amount = f"{minutes / 60:.1f} 小时" if minutes >= 90 else f"{minutes:.0f} 分钟"
    return f"{amount}（手机{direction}）"


# --- replay or conflict -------------------------------------------------------------------------

_POSITION = struct.Struct(">dddq")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def arrival_fingerprint(
    domain: bytes,
    arrival_id: uuid.UUID,
    request: DoorRequest,
    token: qr.QrToken | None,
    extra: bytes = b"",
) -> bytes:
    """SHA-256 of what the person did at the door, which tells a replay from another arrival
    with the same id: the id, the door code scanned (the bare token and the whole scanned URL
    are the same code), the position fix and when it was captured, and ``extra`` (what else the
    caller's arrival chose, e.g. an audit's template). Not ``device_time``, the phone's clock
    when this attempt was sent (a retry after hours offline sends a fresh one), and not
    ``queued_offline`` (an arrival whose first answer was lost is re-sent marked queued).
    ``domain`` keeps a visit's and an audit's fingerprints apart. docs/trust.md, "Replays"."""
    position = request.position
    code = (
        b"t" + token.signed_part + token.mac
        if token is not None
        else b"r" + request.qr.encode("utf-8", "surrogatepass")  # no token in it: refused
    )
    captured_us = (position.captured_at - _EPOCH) // _MICROSECOND
    return hashlib.sha256(
        b"".join(
            (
                domain,
                arrival_id.bytes,
                len(code).to_bytes(4, "big"),
                code,
                # + 0.0 makes -0.0 and 0.0 one value, as the stored column has them.
                _POSITION.pack(
                    position.lat + 0.0, position.lng + 0.0, position.accuracy_m + 0.0, captured_us
                ),
                extra,
            )
        )
    ).digest()


# --- the whole check ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """What the phone sent from the door, as the server received it: the token in the scanned
    code (None: no token in it) and the corrected time, known before anything is read."""

    request: DoorRequest
    token: qr.QrToken | None
    time: CheckInTime


def arrive(request: DoorRequest, server_received_at: datetime) -> Arrival:
    position = request.position
    return Arrival(
        request,
        scanned_token(request.qr),
        check_in_time(position.captured_at, request.device_time, server_received_at),
    )


@dataclass(frozen=True, slots=True)
class AtDoor(Generic[S]):
    """A check passed at the door: the verified store, the fence, the time and the flags."""

    store: S
    fence: Geofence
    time: CheckInTime
    flags: list[Flag]


def door_check(
    secret: bytes,
    arrival: Arrival,
    store: S | None,
    keys: SigningKeys | None,
    previous: PreviousCheckIn | None,
    same_store_same_day: bool,
) -> AtDoor[S]:
    """The code, the fence and the flags of an arrival at ``store`` (the token's store in the
    caller's organization, None when there is none), in that order: ``invalid_qr`` first, then
    ``outside_geofence``. ``previous`` is the person's latest check-in up to this one's time and
    ``same_store_same_day`` whether they were at this store earlier that local day."""
    verified = verified_store(secret, arrival.token, store, keys)
    request = arrival.request
    fence = fence_or_refuse(request, verified)
    position = request.position
    flags = check_in_flags(
        CheckInFacts(
            lat=position.lat,
            lng=position.lng,
            fence=fence,
            time=arrival.time,
            captured_at=position.captured_at,
            device_time=request.device_time,
            queued_offline=request.queued_offline,
            previous=previous,
            same_store_same_day=same_store_same_day,
        )
    )
    return AtDoor(verified, fence, arrival.time, flags)
