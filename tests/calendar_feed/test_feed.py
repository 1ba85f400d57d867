"""The calendar feed end to end: the secret URL, rotation, and the .ics a calendar app reads
(anonymous), parsed back with the icalendar library."""

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from icalendar import Calendar, Component
from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import NextAction
from tests.factories.actions import Desk
from tests.factories.visits import Field, iso
from tests.factories.world import Actor

API = "/api/v1/calendar-feed"
ACTIONS = "/api/v1/next-actions"


async def _url(client: httpx.AsyncClient, actor: Actor) -> str:
    response = await client.get(API, headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    url: str = response.json()["url"]
    return url


def _path(url: str) -> str:
    return urlsplit(url).path


async def _fetch(client: httpx.AsyncClient, url: str) -> Calendar:
    """What a calendar app sees: no credential at all."""
    response = await client.get(_path(url))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def _events(cal: Calendar) -> dict[str, Component]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _uid(action: NextAction) -> str:
    return f"next-action-{action.id}@doorstep"


def _seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


async def test_the_url_is_made_on_the_first_call_and_stays(desk: Desk) -> None:
    first = await _url(desk.client, desk.org.rep)
    assert first.startswith("https://doorstep.test/cal/") and first.endswith(".ics")
    assert await _url(desk.client, desk.org.rep) == first
    other = await _url(desk.client, desk.org.other_rep)
    assert other != first
    anonymous = await desk.client.get(API)
    assert anonymous.status_code == 401


async def test_rotate_gives_a_new_url_and_the_old_one_is_gone(desk: Desk) -> None:
    old = await _url(desk.client, desk.org.supervisor)
    assert (await desk.client.get(_path(old))).status_code == 200
    rotated = await desk.client.post(f"{API}/rotate", headers=desk.org.supervisor.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["url"]
    assert new != old and new.startswith("https://doorstep.test/cal/")
    gone = await desk.client.get(_path(old))
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert (await desk.client.get(_path(new))).status_code == 200
    assert await _url(desk.client, desk.org.supervisor) == new
    again = (await desk.client.post(f"{API}/rotate", headers=desk.org.supervisor.headers)).json()
    assert again["url"] not in (old, new)
    assert (await desk.client.get(_path(new))).status_code == 404


async def test_rotate_before_any_url_makes_one(desk: Desk) -> None:
    rotated = await desk.client.post(f"{API}/rotate", headers=desk.org.admin.headers)
    assert rotated.status_code == 200, rotated.text
    assert await _url(desk.client, desk.org.admin) == rotated.json()["url"]
    assert (await desk.client.get(_path(rotated.json()["url"]))).status_code == 200


async def test_a_tampered_or_made_up_token_is_404(desk: Desk) -> None:
    url = await _url(desk.client, desk.org.rep)
    token = _path(url).removeprefix("/cal/").removesuffix(".ics")
    flipped_mac = token[:-1] + ("A" if token[-1] != "A" else "B")
    flipped_feed = ("A" if token[0] != "A" else "B") + token[1:]
    other_feed = uuid.uuid4().bytes.hex()[:48]
    for bad in [flipped_mac, flipped_feed, other_feed, token[:-1], token + "A", "x", "a" * 300]:
        response = await desk.client.get(f"/cal/{bad}.ics")
        assert response.status_code == 404, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # Whatever else sits under /cal/ is the server's, never the app shell.
    shell = await desk.client.get(f"/cal/{token}")
    assert shell.status_code == 404
    assert not shell.headers["content-type"].startswith("text/html")


async def test_the_feed_holds_the_open_actions_with_their_times(desk: Desk) -> None:
    soon = await desk.action(due_in=timedelta(days=1))
    later = await desk.action(due_in=timedelta(days=3))
    others = await desk.action(actor=desk.org.other_rep)
    url = await _url(desk.client, desk.org.rep)
    cal = await _fetch(desk.client, url)

    assert str(cal["METHOD"]) == "PUBLISH" and str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["X-WR-CALNAME"]) == "Doorstep · 我的待办"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    raw = (await desk.client.get(_path(url))).content
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in raw
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in raw

    events = _events(cal)
    assert set(events) == {_uid(soon), _uid(later)}
    assert _uid(others) not in events
    event = events[_uid(soon)]
    start = event.decoded("DTSTART")
    assert start == _seconds(soon.due_at)
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert start.utcoffset() == timedelta(hours=8)
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert event.decoded("SEQUENCE") == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    store = await _store_name(desk, soon)
    assert str(event["SUMMARY"]) == f"送样品 · {store}"
    assert "带 3 盒样品" in str(event["DESCRIPTION"])
    assert str(event["URL"]) == f"https://doorstep.test/visit/{soon.visit_id}"
    assert "LAST-MODIFIED" in event and "DTSTAMP" in event
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(hours=1)
    assert str(alarm["DESCRIPTION"]) == str(event["SUMMARY"])
    # The same UIDs on the next fetch: a calendar updates entries instead of duplicating them.
    assert set(_events(await _fetch(desk.client, url))) == set(events)


async def _store_name(desk: Desk, action: NextAction) -> str:
    response = await desk.get(f"{ACTIONS}/{action.id}", desk.org.rep)
    assert response.status_code == 200, response.text
    name: str = response.json()["store"]["name"]
    return name


async def test_an_english_user_reads_english(desk: Desk) -> None:
    action = await desk.action()
    changed = await desk.client.patch(
        f"/api/v1/users/{desk.org.rep.id}", json={"locale": "en"}, headers=desk.org.admin.headers
    )
    assert changed.status_code == 200, changed.text
    cal = await _fetch(desk.client, await _url(desk.client, desk.org.rep))
    assert str(cal["X-WR-CALNAME"]) == "Doorstep · My follow-ups"
    event = _events(cal)[_uid(action)]
    assert str(event["SUMMARY"]) == f"Send a sample · {await _store_name(desk, action)}"
    assert "Open in Doorstep" in str(event["DESCRIPTION"])


async def test_a_reschedule_moves_the_same_event_and_bumps_its_sequence(desk: Desk) -> None:
    action = await desk.action(due_in=timedelta(days=1))
    url = await _url(desk.client, desk.org.rep)
    before = _events(await _fetch(desk.client, url))[_uid(action)]
    assert before.decoded("SEQUENCE") == 0
    new_due = _seconds(utc_now() + timedelta(days=2, hours=5))
    moved = await desk.post(
        f"{ACTIONS}/{action.id}/reschedule",
        desk.org.rep,
        {"due_at": iso(new_due), "reason": "客户出差"},
    )
    assert moved.status_code == 200, moved.text
    after = _events(await _fetch(desk.client, url))[_uid(action)]
    assert after.decoded("DTSTART") == new_due != before.decoded("DTSTART")
    assert after.decoded("SEQUENCE") == 1
    assert after.decoded("LAST-MODIFIED") >= before.decoded("LAST-MODIFIED")


async def test_a_completed_action_leaves_and_an_overdue_one_stays(desk: Desk) -> None:
    done = await desk.action()
    overdue = await desk.action(due_in=timedelta(days=1))
    await _make_overdue(desk, overdue)
    url = await _url(desk.client, desk.org.rep)
    assert {_uid(done), _uid(overdue)} <= set(_events(await _fetch(desk.client, url)))
    completed = await desk.post(f"{ACTIONS}/{done.id}/complete", desk.org.rep, {"note": "已送"})
    assert completed.status_code == 200, completed.text
    events = _events(await _fetch(desk.client, url))
    assert _uid(done) not in events and _uid(overdue) in events


async def _make_overdue(desk: Desk, action: NextAction) -> None:
    # Time passing: the API never accepts a due time in the past.
    async with session_scope(desk.sessionmaker) as session:
        await session.execute(
            update(NextAction)
            .where(NextAction.id == action.id)
            .values(due_at=utc_now() - timedelta(hours=2))
        )


async def test_a_supervisors_feed_holds_their_teams_reps(desk: Desk) -> None:
    led = await desk.action()
    not_led = await desk.action(actor=desk.org.other_rep)
    await desk.leads_team(desk.org.supervisor, desk.org.rep)
    cal = await _fetch(desk.client, await _url(desk.client, desk.org.supervisor))
    assert str(cal["X-WR-CALNAME"]) == "Doorstep · 团队待办"
    events = _events(cal)
    assert _uid(led) in events and _uid(not_led) not in events
    assert str(events[_uid(led)]["SUMMARY"]).endswith(" · rep")  # whose it is
    # The admin's feed: the whole organization's.
    admin = _events(await _fetch(desk.client, await _url(desk.client, desk.org.admin)))
    assert {_uid(led), _uid(not_led)} <= set(admin)


async def test_another_orgs_actions_never_appear(desk: Desk) -> None:
    mine = await desk.action()
    other_org = Desk(
        Field(desk.client, await desk.world.org()),
        desk.world,
        desk.sessionmaker,
        desk.settings,
    )
    theirs = await other_org.action()
    await other_org.leads_team(other_org.org.supervisor, other_org.org.rep)
    for actor in (desk.org.rep, desk.org.supervisor, desk.org.admin):
        events = _events(await _fetch(desk.client, await _url(desk.client, actor)))
        assert _uid(theirs) not in events
    foreign = _events(
        await _fetch(other_org.client, await _url(other_org.client, other_org.org.admin))
    )
    assert _uid(theirs) in foreign and _uid(mine) not in foreign


async def test_a_deactivated_users_feed_is_404(desk: Desk) -> None:
    url = await _url(desk.client, desk.org.other_rep)
    off = await desk.client.patch(
        f"/api/v1/users/{desk.org.other_rep.id}",
        json={"is_active": False},
        headers=desk.org.admin.headers,
    )
    assert off.status_code == 200, off.text
    assert (await desk.client.get(_path(url))).status_code == 404


async def _statements_for(desk: Desk, url: str, app_engine: AsyncEngine) -> int:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    sa_event.listen(app_engine.sync_engine, "before_cursor_execute", count)
    try:
        await _fetch(desk.client, url)
    finally:
        sa_event.remove(app_engine.sync_engine, "before_cursor_execute", count)
    return len(seen)


async def test_the_feed_costs_the_same_queries_for_one_action_or_many(
    desk: Desk, app: FastAPI
) -> None:
    await desk.leads_team(desk.org.supervisor, desk.org.rep, desk.org.other_rep)
    await desk.action()
    url = await _url(desk.client, desk.org.supervisor)
    one = await _statements_for(desk, url, app.state.engine)
    for actor in (desk.org.rep, desk.org.other_rep, desk.org.rep, desk.org.other_rep):
        await desk.action(actor=actor)
    assert len(_events(await _fetch(desk.client, url))) == 5
    assert await _statements_for(desk, url, app.state.engine) == one
