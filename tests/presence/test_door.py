"""The door check (backend.presence.rules) without a database: the code, the geofence with its
accuracy credit, the clock correction and the presence flags, with the error bodies a visit's
check-in and an audit's start both answer with."""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from backend.models import Organization, Store
from backend.presence import rules as door
from backend.presence.exceptions import InvalidQr, OutsideGeofence
from backend.presence.flags import FlagCode
from backend.stores import qr
from backend.visits.schemas import CheckInRequest, Position

SECRET = b"s" * 32
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
STORE_LAT, STORE_LNG = 30.2775, 120.1265
KEYS = door.OrgKeys(uuid.uuid4(), b"o" * 32, 3)
STORE = door.DoorStore(
    id=uuid.uuid4(),
    code="S-1",
    name="益丰大药房（文三路店）",
    address="杭州市西湖区文三路 100 号",
    lat=STORE_LAT,
    lng=STORE_LNG,
    geofence_radius_m=150,
    customer_type="pharmacy",
    qr_version=2,
)


def code_of(
    store: door.DoorStore = STORE, keys: door.OrgKeys = KEYS, *, secret: bytes = SECRET
) -> str:
    token = qr.make_token(
        secret, keys.id, keys.signing_secret, keys.signing_key_version, store.id, store.qr_version
    )
    return f"https://doorstep.test/q/{token}"


def north(metres: float) -> float:
    return STORE_LAT + metres / 111_195.0


@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    accuracy_m: float
    captured_at: datetime


@dataclass(frozen=True)
class Arriving:
    """Any caller's body: the door check asks only for these four things."""

    qr: str
    position: Fix
    device_time: datetime
    queued_offline: bool = False


def arriving(
    *,
    qr_text: str | None = None,
    metres: float = 10,
    accuracy_m: float = 15,
    device_offset: timedelta = timedelta(0),
    queued_offline: bool = False,
) -> Arriving:
    device_time = NOW - device_offset
    fix = Fix(north(metres), STORE_LNG, accuracy_m, device_time - timedelta(seconds=5))
    return Arriving(qr_text or code_of(), fix, device_time, queued_offline)


def check(
    request: Arriving,
    store: door.DoorStore | None = STORE,
    keys: door.OrgKeys | None = KEYS,
    *,
    previous: door.PreviousCheckIn | None = None,
    same_day: bool = False,
) -> door.AtDoor[door.DoorStore]:
    return door.door_check(SECRET, door.arrive(request, NOW), store, keys, previous, same_day)


def test_an_honest_arrival_passes_with_no_flags() -> None:
    at_door = check(arriving())
    assert at_door.store is STORE
    assert at_door.fence.inside and at_door.fence.distance_m == pytest.approx(10, abs=0.2)
    assert at_door.time.checked_in_at == NOW - timedelta(seconds=5)
    assert at_door.flags == []


def test_the_bare_token_and_the_whole_url_are_the_same_code() -> None:
    url = code_of()
    token = url.rsplit("/q/", 1)[1]
    assert door.scanned_token(url) == door.scanned_token(token) == door.scanned_token(f" {url} ")
    assert door.scanned_token("https://example.com/not-a-code") is None
    assert door.scanned_token("\x00" * 3000) is None


def _wrong_codes() -> list[tuple[str, str, door.DoorStore | None, door.OrgKeys | None]]:
    other_store = replace(STORE, id=uuid.uuid4())
    return [
        ("garbage", "not a code", STORE, KEYS),
        ("forged", code_of(secret=b"x" * 32), STORE, KEYS),
        ("other org", code_of(keys=replace(KEYS, id=uuid.uuid4())), STORE, KEYS),
        ("moved", code_of(store=other_store), STORE, KEYS),
        ("no such store", code_of(), None, None),
        ("rotated", code_of(store=replace(STORE, qr_version=1)), STORE, KEYS),
        ("retired", code_of(keys=replace(KEYS, signing_key_version=2)), STORE, KEYS),
    ]


# Named by ``why`` alone: the codes are random per process, and xdist workers must agree.
@pytest.mark.parametrize(
    ("why", "text", "store", "keys"), _wrong_codes(), ids=[w[0] for w in _wrong_codes()]
)
def test_every_wrong_code_is_invalid_qr(
    why: str, text: str, store: door.DoorStore | None, keys: door.OrgKeys | None
) -> None:
    with pytest.raises(InvalidQr) as caught:
        check(arriving(qr_text=text), store, keys)
    assert (caught.value.status, caught.value.code) == (422, "invalid_qr")
    if why == "rotated":
        assert "replaced" in caught.value.detail
    if why == "retired":
        assert "retired" in caught.value.detail


def test_the_code_is_checked_before_the_fence() -> None:
    with pytest.raises(InvalidQr):
        check(arriving(qr_text=code_of(secret=b"x" * 32), metres=5000))


@pytest.mark.parametrize(
    ("metres", "accuracy", "inside"),
    [
        (250.0, 100.0, True),  # exactly radius + accuracy
        (251.0, 100.0, False),  # one metre beyond
        (300.0, 150.0, False),  # the accuracy credit is capped at 100 m
        (160.0, 0.0, False),
        (150.0, 0.0, True),
    ],
)
def test_the_geofence_gives_the_fix_credit_for_its_accuracy(
    metres: float, accuracy: float, inside: bool
) -> None:
    request = arriving(metres=metres, accuracy_m=accuracy)
    if inside:
        assert check(request).fence.inside
        return
    with pytest.raises(OutsideGeofence) as caught:
        check(request)
    error = caught.value
    assert (error.status, error.code) == (422, "outside_geofence")
    assert error.extra["radius_m"] == 150
    assert error.extra["distance_m"] == pytest.approx(metres, abs=0.2)
    assert error.extra["accuracy_m"] == accuracy
    assert error.extra["effective_distance_m"] == pytest.approx(
        metres - min(accuracy, 100.0), abs=0.2
    )


def test_outside_the_fence_offline_is_accepted_and_flagged() -> None:
    at_door = check(arriving(metres=400, accuracy_m=150, queued_offline=True))
    assert not at_door.fence.inside
    assert {f.code for f in at_door.flags} == {
        FlagCode.outside_geofence,
        FlagCode.low_accuracy,
        FlagCode.queued_offline,
    }


def test_a_wrong_phone_clock_is_corrected_and_flagged() -> None:
    # The phone runs two hours slow: it sends at 00:30 by its clock, the server reads 02:30.
    at_door = check(arriving(device_offset=timedelta(hours=2)))
    assert at_door.time.clock_offset == timedelta(hours=2)
    assert at_door.time.checked_in_at == NOW - timedelta(seconds=5)
    assert [f.code for f in at_door.flags] == [FlagCode.clock_skew]


def test_history_flags_come_from_the_callers_facts() -> None:
    far = door.PreviousCheckIn(north(-50_000), STORE_LNG, NOW - timedelta(minutes=10))
    at_door = check(arriving(), previous=far, same_day=True)
    assert {f.code for f in at_door.flags} == {
        FlagCode.impossible_travel,
        FlagCode.repeat_same_day,
    }


def test_rows_and_read_facts_get_the_same_answers() -> None:
    """A caller holding ORM rows (an audit's start) and one holding the check-in's own facts
    get the same store back, the same fence, time and flags."""
    store_row = Store(
        id=STORE.id,
        org_id=KEYS.id,
        code=STORE.code,
        name=STORE.name,
        address=STORE.address,
        lat=STORE.lat,
        lng=STORE.lng,
        geofence_radius_m=STORE.geofence_radius_m,
        customer_type=STORE.customer_type,
        qr_version=STORE.qr_version,
    )
    org_row = Organization(
        id=KEYS.id,
        signing_secret=KEYS.signing_secret,
        signing_key_version=KEYS.signing_key_version,
    )
    request = arriving(metres=400, queued_offline=True, device_offset=timedelta(minutes=9))
    arrival = door.arrive(request, NOW)
    from_rows = door.door_check(SECRET, arrival, store_row, org_row, None, False)
    from_facts = door.door_check(SECRET, arrival, STORE, KEYS, None, False)
    assert from_rows.store is store_row
    assert (from_rows.fence, from_rows.time, from_rows.flags) == (
        from_facts.fence,
        from_facts.time,
        from_facts.flags,
    )
    online = door.arrive(replace(request, queued_offline=False), NOW)
    with pytest.raises(OutsideGeofence) as by_rows:
        door.door_check(SECRET, online, store_row, org_row, None, False)
    with pytest.raises(OutsideGeofence) as by_facts:
        door.door_check(SECRET, online, STORE, KEYS, None, False)
    assert (by_rows.value.detail, by_rows.value.extra) == (
        by_facts.value.detail,
        by_facts.value.extra,
    )


def test_the_visit_check_in_body_is_a_door_request() -> None:
    body = CheckInRequest(
        id=uuid.uuid4(),
        qr=code_of(),
        position=Position(
            lat=north(20), lng=STORE_LNG, accuracy_m=10, captured_at=NOW - timedelta(seconds=3)
        ),
        device_time=NOW,
    )
    at_door = door.door_check(SECRET, door.arrive(body, NOW), STORE, KEYS, None, False)
    assert at_door.fence.distance_m == pytest.approx(20, abs=0.2) and at_door.flags == []
