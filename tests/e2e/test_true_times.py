"""Times that tell the truth (issue 10, item 1): the phone sends its clock as it is when each
request leaves, so time spent offline is not taken for a wrong clock; a clock that really is
wrong is still caught (clock_skew) and corrected to the server's time."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.helpers import (
    Phone,
    Site,
    losing_the_first_answer,
    outbox_items,
    sign_in,
    wait_offline_ready,
)

OFFLINE_FOR_S = 75


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _only_visit(site: Site, username: str) -> dict[str, Any]:
    with site.api(username) as client:
        items: list[dict[str, Any]] = client.get("/api/v1/visits?limit=5").json()["items"]
    assert len(items) == 1, items
    return items[0]


async def _check_in_at_the_door(page: Any, site: Site) -> float:
    """Open the door code and tap "Check in here"; → the real time of the tap."""
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("#accuracy")
    await page.wait_for_selector("#check-in-button:not([disabled])")
    tapped = time.time()
    await page.click("#check-in-button")
    await page.wait_for_selector("#visit-form")
    return tapped


async def _offline_check_in_at_the_door(phone: Phone, site: Site, rep: str) -> tuple[Any, float]:
    """Signed in and ready offline, then offline: the check-in tapped at the door (queued)."""
    page = await phone()
    await sign_in(page, rep)
    await wait_offline_ready(page)
    await page.context.set_offline(True)
    return page, await _check_in_at_the_door(page, site)


async def _synced(page: Any, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while await outbox_items(page):
        assert time.monotonic() < deadline, await outbox_items(page)
        await page.wait_for_timeout(200)


async def test_offline_check_in_synced_later_keeps_its_time(phone: Phone, site: Site) -> None:
    rep = site.reps["offline"]
    page, tapped = await _offline_check_in_at_the_door(phone, site, rep)
    await page.wait_for_timeout(OFFLINE_FOR_S * 1000)
    await page.context.set_offline(False)
    await _synced(page)

    visit = _only_visit(site, rep)
    check_in = visit["check_in"]
    assert check_in["queued_offline"] is True
    assert abs(check_in["clock_offset_s"]) < 5, check_in
    assert abs(_at(visit["checked_in_at"]) - tapped) < 5, (visit["checked_in_at"], tapped)
    # It arrived more than a minute after it was made, and that is not held against the rep.
    assert _at(check_in["server_received_at"]) - tapped > OFFLINE_FOR_S - 5
    assert "clock_skew" not in [flag["code"] for flag in visit["trust"]["flags"]]


async def test_a_slow_phone_clock_is_flagged_and_corrected(phone: Phone, site: Site) -> None:
    rep = site.reps["geo"]
    page = await phone()
    # The phone's clock runs 20 minutes behind; time flows on from there.
    await page.clock.install(time=datetime.now(UTC) - timedelta(minutes=20))
    await sign_in(page, rep)
    assert await page.evaluate("Date.now()") < (time.time() - 19 * 60) * 1000
    tapped = await _check_in_at_the_door(page, site)
    await _synced(page)

    visit = _only_visit(site, rep)
    offset = visit["check_in"]["clock_offset_s"]
    assert 20 * 60 - 10 < offset < 20 * 60 + 10, visit["check_in"]
    assert "clock_skew" in [flag["code"] for flag in visit["trust"]["flags"]]
    # The check-in time is the server's, not the phone's.
    assert abs(_at(visit["checked_in_at"]) - tapped) < 5, (visit["checked_in_at"], tapped)


async def test_a_check_in_resent_with_a_new_clock_is_the_same_visit(
    phone: Phone, site: Site
) -> None:
    """The server got the check-in but its answer was lost: the retry carries a later
    device_time, and is still a replay of the same check-in (one visit), not a conflict."""
    rep = site.reps["online"]
    page, tapped = await _offline_check_in_at_the_door(phone, site, rep)
    sent: list[str] = []
    lose_first_answer = losing_the_first_answer(
        sent, lambda request: request.post_data_json["device_time"]
    )
    await page.route("**/api/v1/visits", lose_first_answer)
    await page.context.set_offline(False)
    await _synced(page, timeout_s=60)
    assert len(sent) >= 2 and sent[0] < sent[1], sent

    visit = _only_visit(site, rep)
    assert abs(visit["check_in"]["clock_offset_s"]) < 5, visit["check_in"]
    assert abs(_at(visit["checked_in_at"]) - tapped) < 5
