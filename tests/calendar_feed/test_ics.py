"""The .ics text, parsed back with the icalendar library."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from backend.calendar_feed.ics import FeedCalendar, FeedEvent, build

NOW = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)


def _event(uid: str, due_at: datetime) -> FeedEvent:
    return FeedEvent(
        uid=uid,
        due_at=due_at,
        summary="送样品 · 益丰大药房（文三路店）",
        description="带 3 盒样品",
        url="https://doorstep.test/visit/1",
        sequence=2,
        last_modified=NOW - timedelta(hours=3),
    )


def test_a_summer_time_zone_is_described_and_events_use_it() -> None:
    due = datetime(2027, 7, 1, 8, 0, tzinfo=UTC)  # 10:00 in Berlin (CEST)
    text = build(FeedCalendar("Doorstep", "Europe/Berlin", [_event("a@doorstep", due)]), NOW)
    cal = Calendar.from_ical(text)
    (zone,) = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Berlin"
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    (event,) = cal.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start == due and start.utcoffset() == timedelta(hours=2)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert event.decoded("SEQUENCE") == 2
    assert event.decoded("DTSTAMP") == NOW.replace(microsecond=0)


def test_an_empty_feed_is_still_a_calendar_with_its_zone_and_hints() -> None:
    text = build(FeedCalendar("我的待办", "Asia/Shanghai", []), NOW)
    assert text.startswith(b"BEGIN:VCALENDAR\r\n") and text.endswith(b"END:VCALENDAR\r\n")
    cal = Calendar.from_ical(text)
    assert str(cal["X-WR-CALNAME"]) == "我的待办" and str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["CALSCALE"]) == "GREGORIAN" and str(cal["VERSION"]) == "2.0"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in text
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert cal.walk("VEVENT") == []


def test_an_overdue_event_keeps_its_time_in_the_zone() -> None:
    due = NOW - timedelta(days=40)
    cal = Calendar.from_ical(build(FeedCalendar("x", "Asia/Shanghai", [_event("o", due)]), NOW))
    (event,) = cal.walk("VEVENT")
    local = event.decoded("DTSTART")
    assert local == due.replace(microsecond=0)
    assert local.tzinfo is not None and local.utcoffset() == timedelta(hours=8)
    assert local.astimezone(ZoneInfo("Asia/Shanghai")).hour == (due.hour + 8) % 24
