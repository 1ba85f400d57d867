from datetime import UTC, datetime, timedelta

import pytest

from backend.kit.geo import haversine_m
from backend.visits import rules
from backend.visits.rules import CheckInFacts, Geofence, PreviousCheckIn

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
STORE = (30.2775, 120.1265)


def north_of(lat: float, lng: float, metres: float) -> tuple[float, float]:
    return lat + metres / 111_195.0, lng


def facts(
    *,
    distance_m: float = 10,
    accuracy_m: float = 15,
    radius_m: int = 150,
    device_offset: timedelta = timedelta(0),
    captured_before_send: timedelta = timedelta(seconds=5),
    queued_offline: bool = False,
    previous: PreviousCheckIn | None = None,
    same_day: bool = False,
) -> CheckInFacts:
    device_time = NOW - device_offset
    captured_at = device_time - captured_before_send
    lat, lng = north_of(*STORE, distance_m)
    fence = rules.geofence(lat, lng, accuracy_m, *STORE, radius_m)
    return CheckInFacts(
        lat=lat,
        lng=lng,
        fence=fence,
        time=rules.check_in_time(captured_at, device_time, NOW),
        captured_at=captured_at,
        device_time=device_time,
        queued_offline=queued_offline,
        previous=previous,
        same_store_same_day=same_day,
    )


def codes(f: CheckInFacts) -> set[str]:
    return {flag.code for flag in rules.check_in_flags(f)}


def test_honest_check_in_has_no_flags_and_full_score() -> None:
    f = facts()
    assert codes(f) == set()
    assert rules.trust_score(rules.check_in_flags(f)) == 100


@pytest.mark.parametrize(
    ("distance", "accuracy", "inside"),
    [
        (250.0, 100.0, True),  # exactly radius + accuracy
        (251.0, 100.0, False),  # one metre beyond
        (300.0, 150.0, False),  # accuracy credit is capped at 100 m
        (250.0, 150.0, True),
        (0.0, 0.0, True),
    ],
)
def test_geofence_edges(distance: float, accuracy: float, inside: bool) -> None:
    fence = Geofence(distance, accuracy, 150)
    assert fence.inside is inside
    assert fence.effective_m == max(0.0, distance - min(accuracy, 100.0))


def test_geofence_measures_real_distance() -> None:
    lat, lng = north_of(*STORE, 250)
    fence = rules.geofence(lat, lng, 100, *STORE, 150)
    assert fence.distance_m == pytest.approx(250, abs=0.5)
    assert fence.distance_m == pytest.approx(haversine_m(lat, lng, *STORE))


def test_offline_outside_fence_and_low_accuracy_are_flagged() -> None:
    f = facts(distance_m=400, accuracy_m=150, queued_offline=True)
    assert codes(f) == {"outside_geofence", "low_accuracy", "queued_offline"}
    flag = next(x for x in rules.check_in_flags(f) if x.code == "outside_geofence")
    assert "400 m" in flag.en and "米" in flag.zh


@pytest.mark.parametrize("skew", [timedelta(hours=2), timedelta(days=-1)])
def test_wrong_phone_clock_is_corrected_and_flagged(skew: timedelta) -> None:
    # The phone runs `skew` ahead of real time; the position was really taken 30 min ago.
    true_capture = NOW - timedelta(minutes=30)
    device_time = NOW + skew
    captured_at = true_capture + skew
    corrected = rules.check_in_time(captured_at, device_time, NOW)
    assert abs((corrected.checked_in_at - true_capture).total_seconds()) < 5
    f = facts(device_offset=-skew)
    assert "clock_skew" in codes(f)


def test_small_clock_drift_is_not_skew() -> None:
    assert "clock_skew" not in codes(facts(device_offset=timedelta(minutes=4, seconds=59)))
    assert "clock_skew" in codes(facts(device_offset=timedelta(minutes=5, seconds=1)))


def test_capture_after_send_is_a_future_timestamp() -> None:
    assert "future_timestamp" in codes(facts(captured_before_send=timedelta(minutes=-5)))
    assert "future_timestamp" not in codes(facts(captured_before_send=timedelta(seconds=-30)))


def test_fifty_km_in_ten_minutes_is_impossible_travel() -> None:
    far_lat, far_lng = north_of(*STORE, -50_000)
    previous = PreviousCheckIn(far_lat, far_lng, NOW - timedelta(minutes=10))
    assert "impossible_travel" in codes(facts(previous=previous))
    slow = PreviousCheckIn(far_lat, far_lng, NOW - timedelta(hours=1))
    assert "impossible_travel" not in codes(facts(previous=slow))


def test_short_hops_are_never_impossible_travel() -> None:
    near_lat, near_lng = north_of(*STORE, -900)
    previous = PreviousCheckIn(near_lat, near_lng, NOW - timedelta(seconds=5))
    assert "impossible_travel" not in codes(facts(previous=previous))


def test_repeat_same_day_and_short_visit() -> None:
    assert "repeat_same_day" in codes(facts(same_day=True))
    assert rules.short_visit_flag(NOW, NOW + timedelta(minutes=2, seconds=59)) is not None
    assert rules.short_visit_flag(NOW, NOW + timedelta(minutes=3)) is None


def test_score_subtracts_weights_and_floors_at_zero() -> None:
    f = facts(
        distance_m=5000,
        accuracy_m=500,
        queued_offline=True,
        same_day=True,
        device_offset=timedelta(hours=3),
    )
    flags = rules.check_in_flags(f)
    expected = 100 - sum(rules.WEIGHTS[x.code] for x in flags)
    assert rules.trust_score(flags) == max(0, expected)
    many = flags * 5
    assert rules.trust_score(many) == 0
    assert set(rules.WEIGHTS) == {
        "outside_geofence",
        "low_accuracy",
        "clock_skew",
        "future_timestamp",
        "impossible_travel",
        "duplicate_photo",
        "short_visit",
        "repeat_same_day",
        "queued_offline",
    }
