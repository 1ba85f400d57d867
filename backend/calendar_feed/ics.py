"""The iCalendar (RFC 5545) text of a calendar feed, built with the ``icalendar`` library
(pure: no I/O beyond the system's time zone database).

One ``VCALENDAR`` (``METHOD:PUBLISH``, a subscription, not an invitation) with the calendar's
name in the user's language, the org's time zone as ``X-WR-TIMEZONE`` and as a ``VTIMEZONE``
made from zoneinfo, and the refresh hints calendar apps read: ``REFRESH-INTERVAL`` (RFC 7986)
and ``X-PUBLISHED-TTL`` (Outlook, Apple). Each entry is a 30-minute ``VEVENT`` at its due time
in that zone, with a display alarm an hour before.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vDuration

PRODID: Final = "-//Doorstep//Calendar feed 1.0//EN"
EVENT_LENGTH: Final = timedelta(minutes=30)
ALARM_BEFORE: Final = timedelta(hours=1)
REFRESH: Final = timedelta(hours=1)
# The VTIMEZONE covers every event and a year beyond the latest, not 1970-2038: a zone with
# summer time would otherwise add two transitions for each of 68 years to every fetch.
_ZONE_MARGIN: Final = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One entry of the feed, already in the reader's language."""

    uid: str
    due_at: datetime  # aware
    summary: str
    description: str
    url: str
    sequence: int
    last_modified: datetime  # aware


@dataclass(frozen=True, slots=True)
class FeedCalendar:
    name: str
    timezone: str  # an IANA zone name, e.g. "Asia/Shanghai"
    events: Sequence[FeedEvent]


def build(calendar: FeedCalendar, now: datetime) -> bytes:
    """The ``.ics`` bytes (CRLF lines, folded at 75 octets, UTF-8) of ``calendar`` at ``now``."""
    zone = ZoneInfo(calendar.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", calendar.name)
    cal.add("x-wr-calname", calendar.name)
    cal.add("x-wr-timezone", calendar.timezone)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    first, last = _zone_span(calendar.events, now)
    cal.add_component(Timezone.from_tzid(calendar.timezone, first_date=first, last_date=last))
    for entry in calendar.events:
        cal.add_component(_event(entry, zone, now))
    text: bytes = cal.to_ical()
    return text


def _zone_span(events: Sequence[FeedEvent], now: datetime) -> tuple[date, date]:
    moments = [now, *(e.due_at for e in events)]
    return (min(moments) - timedelta(days=1)).date(), (max(moments) + _ZONE_MARGIN).date()


def _event(entry: FeedEvent, zone: ZoneInfo, now: datetime) -> Event:
    start = entry.due_at.astimezone(zone).replace(microsecond=0)
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("sequence", entry.sequence)
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    event.add("url", entry.url)
    event.add("status", "CONFIRMED")
    event.add("last-modified", _utc(entry.last_modified))
    event.add_component(_alarm(entry.summary))
    return event


def _alarm(text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -ALARM_BEFORE)
    alarm.add("description", text)
    return alarm


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0)
