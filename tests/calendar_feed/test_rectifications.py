"""Rectifications still owed in the calendar feed: open and reopened ones, with the number of
reopens as SEQUENCE; submitted and verified ones leave."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Component

from backend.models import Rectification
from tests.factories.audits import Tour, photo_bytes
from tests.factories.world import Actor

API = "/api/v1/calendar-feed"
BASE = "/api/v1/rectifications"


async def _events(tour: Tour, actor: Actor) -> dict[str, Component]:
    got = await tour.client.get(API, headers=actor.headers)
    assert got.status_code == 200, got.text
    response = await tour.client.get(urlsplit(got.json()["url"]).path)
    assert response.status_code == 200, response.text
    return {str(e["UID"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}


def _uid(rect: Rectification) -> str:
    return f"rectification-{rect.id}@doorstep"


async def test_an_open_rectification_is_an_event_at_its_due_time(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=2))).first
    other = (await tour.raise_at(tour.other_store, assignee=tour.org.other_rep)).first
    events = await _events(tour, tour.org.rep)
    assert _uid(other) not in events
    event = events[_uid(rect)]
    assert event.decoded("DTSTART") == rect.due_at.replace(microsecond=0)
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("SEQUENCE") == 0
    title = rect.title["zh"]
    assert str(event["SUMMARY"]) == f"整改 · {title} · {tour.store['name']}"
    assert str(event["URL"]) == f"https://doorstep.test/rectifications/{rect.id}"
    assert "请尽快整改" in str(event["DESCRIPTION"])
    assert len(event.walk("VALARM")) == 1
    # The team's supervisor sees it, with whose it is; the other team's does not.
    led = await _events(tour, tour.org.supervisor)
    assert str(led[_uid(rect)]["SUMMARY"]).endswith(" · rep")
    assert _uid(rect) not in await _events(tour, tour.other_supervisor)


async def test_submit_removes_it_and_a_reopen_brings_it_back_with_a_new_sequence(
    tour: Tour,
) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=1))).first
    await tour.check_in(tour.store)
    put = await tour.put_after_photo(rect.id, photo_bytes(11))
    assert put.status_code == 201, put.text
    submitted = await tour.post(f"{BASE}/{rect.id}/submit", tour.org.rep, {"note": "已更换"})
    assert submitted.status_code == 200, submitted.text
    assert _uid(rect) not in await _events(tour, tour.org.rep)

    reopened = await tour.post(f"{BASE}/{rect.id}/reopen", tour.org.supervisor, {"reason": "仍歪"})
    assert reopened.status_code == 200, reopened.text
    event = (await _events(tour, tour.org.rep))[_uid(rect)]
    assert event.decoded("SEQUENCE") == 1
    new_due = datetime.fromisoformat(reopened.json()["due_at"]).replace(microsecond=0)
    assert new_due > rect.due_at  # a reopen hands it back with more time
    assert event.decoded("DTSTART") == new_due
    assert "已退回重做：仍歪" in str(event["DESCRIPTION"])
