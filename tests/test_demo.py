"""The demo seed: a week of realistic visits, audits and rectifications in every state, seeded
once."""

import itertools
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import demo as demo_module
from backend.audits import checklist as checklists
from backend.audits import defaults as audit_defaults
from backend.audits.results import item_failed
from backend.config import Settings
from backend.db import session_scope
from backend.demo import DEMO_PASSWORD, REPS, SUPERVISOR, seed_demo
from backend.events.catalog import PAYLOADS, EventType
from backend.models import (
    Audit,
    AuditBand,
    AuditStatus,
    Event,
    NextAction,
    NextActionStatus,
    Notification,
    Photo,
    PhotoHashBand,
    Rectification,
    RectificationChange,
    RectificationStatus,
    Store,
    User,
    Visit,
    VisitReview,
    VisitStatus,
)
from backend.models.user import Role
from backend.presence import flags as trust
from backend.visits import rules

REVIEWED = (VisitStatus.submitted, VisitStatus.approved, VisitStatus.rejected)


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _table_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (
        Visit,
        Photo,
        PhotoHashBand,
        NextAction,
        VisitReview,
        Audit,
        Rectification,
        RectificationChange,
        Notification,
        Event,
    ):
        counts[model.__tablename__] = int(
            await session.scalar(select(func.count()).select_from(model)) or 0
        )
    return counts


async def test_demo_history_has_every_state_and_seeds_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx.AsyncClient
) -> None:
    started = time.perf_counter()
    async with session_scope(sessionmaker) as session:
        demo = await seed_demo(session, settings)
    seconds = time.perf_counter() - started
    assert seconds < 60, f"seeding the demo took {seconds:.1f} s"

    async with sessionmaker() as session:
        visits = list(await session.scalars(select(Visit).where(Visit.org_id == demo.org_id)))
        photos = Counter(visit_id for visit_id in await session.scalars(select(Photo.visit_id)))
        actions = {a.visit_id: a for a in await session.scalars(select(NextAction))}
        reviews = Counter(r.visit_id for r in await session.scalars(select(VisitReview)))
        reps = {
            u.id: u.username
            for u in await session.scalars(select(User).where(User.org_id == demo.org_id))
        }
        rejected_notices = set(
            await session.scalars(
                select(Notification.subject_id).where(Notification.type == "visit.rejected")
            )
        )
        audits = list(await session.scalars(select(Audit).where(Audit.org_id == demo.org_id)))
        rects = list(
            await session.scalars(select(Rectification).where(Rectification.org_id == demo.org_id))
        )
        after_photos = {
            p.rectification_id: p
            for p in await session.scalars(
                select(Photo).where(
                    Photo.org_id == demo.org_id, Photo.rectification_id.is_not(None)
                )
            )
        }
        audit_stores = {
            s.id: s
            for s in await session.scalars(
                select(Store).where(Store.id.in_({a.store_id for a in audits}))
            )
        }
        before = await _table_counts(session)
        events = list(await session.scalars(select(Event).where(Event.org_id == demo.org_id)))
        notices = list(
            await session.scalars(select(Notification).where(Notification.org_id == demo.org_id))
        )

    states = Counter(v.status for v in visits)
    assert set(states) == set(VisitStatus), states
    assert states[VisitStatus.approved] > states[VisitStatus.rejected]
    # Every rep worked: ~3-5 visits per working day.
    per_rep = Counter(reps[v.rep_id] for v in visits)
    assert set(per_rep) == {username for username, _ in REPS}
    assert all(n >= 6 for n in per_rep.values()), per_rep

    for visit in visits:
        # The trust score is what the flags weigh, with the documented weights.
        assert visit.trust_score == max(0, 100 - sum(rules.WEIGHTS[f["code"]] for f in visit.flags))
        assert visit.checked_in_at == visit.captured_at + (
            visit.server_received_at - visit.device_time
        )
        if visit.status in REVIEWED:
            assert photos[visit.id] == 3, visit.id
            assert visit.answers, visit.id
            assert visit.id in actions, visit.id
            assert visit.summary is not None and visit.summary["visit_id"] == str(visit.id)
            assert visit.checked_out_at is not None and visit.submitted_at is not None
            action = actions[visit.id]
            assert visit.checked_in_at < action.due_at
            if action.reschedule_count == 0:  # a reschedule's window counts from its own time
                assert action.due_at <= visit.checked_in_at + timedelta(days=7)
        if visit.status in (VisitStatus.approved, VisitStatus.rejected):
            assert reviews[visit.id] >= 1
        if visit.status == VisitStatus.rejected:
            assert visit.id in rejected_notices
        if visit.status == VisitStatus.abandoned:
            assert visit.abandon_reason and visit.abandoned_at is not None

    open_visits = Counter(v.rep_id for v in visits if v.status == VisitStatus.open)
    assert all(n == 1 for n in open_visits.values())
    # rep1, whom a newcomer signs in as first, can check in at once; rep3 shows the open state.
    assert [reps[r] for r in open_visits] == ["rep3"]
    flags = Counter(f["code"] for v in visits for f in v.flags)
    for code in ("low_accuracy", "queued_offline", "clock_skew", "short_visit", "duplicate_photo"):
        assert flags[code] >= 1, flags
    now = datetime.now(UTC)
    assert any(a.status == NextActionStatus.open and a.due_at < now for a in actions.values())
    assert any(a.status == NextActionStatus.open and a.due_at > now for a in actions.values())
    assert any(a.status == NextActionStatus.done for a in actions.values())

    # The history came from the flows: every event is the catalog's, and each one is stamped
    # with the simulated time the flow ran at, as the rows it changed are.
    for event in events:
        payload = PAYLOADS[EventType(event.type)]
        assert payload.subject_type == event.subject_type, event.type
        payload.model_validate(event.payload)
    stamped: dict[tuple[str, uuid.UUID], list[datetime]] = {}
    for event in events:
        stamped.setdefault((event.type, event.subject_id), []).append(event.occurred_at)
    for visit in visits:
        assert stamped[("visit.checked_in", visit.id)] == [visit.server_received_at]
        if visit.submitted_at is not None:
            last = "visit.resubmitted" if visit.submit_count > 1 else "visit.submitted"
            assert max(stamped[(last, visit.id)]) == visit.submitted_at
        if visit.status == VisitStatus.abandoned:
            assert stamped[("visit.abandoned", visit.id)] == [visit.abandoned_at]
    for action in actions.values():
        assert stamped[("next_action.created", action.id)] == [action.created_at]
        if action.completed_at is not None:
            assert stamped[("next_action.completed", action.id)] == [action.completed_at]
    # Reminders and escalations are the jobs', sent at the simulated ticks.
    sent = Counter(n.type for n in notices)
    for kind in ("next_action.due_soon", "next_action.due", "next_action.overdue"):
        assert sent[kind] >= 1, sent
    supervisor_id = next(i for i, name in reps.items() if name == SUPERVISOR[0])
    for notice in notices:
        if notice.type == "next_action.overdue":
            action = next(a for a in actions.values() if a.id == notice.subject_id)
            assert notice.user_id == supervisor_id and notice.created_at == action.escalated_at
        elif notice.type == "next_action.due":
            action = next(a for a in actions.values() if a.id == notice.subject_id)
            assert notice.created_at == action.reminded_due_at

    # The supervisor's audits: green, amber and red, one failing a critical item, each started
    # at the door as a visit is (inside the fence, no flag) and scored as submitted.
    assert audits and all(a.status == AuditStatus.submitted for a in audits)
    assert {a.auditor_id for a in audits} == {supervisor_id}
    assert {a.band for a in audits} == set(AuditBand), Counter(a.band for a in audits)
    assert any(a.failed_critical and a.passed is False for a in audits)
    for audit in audits:
        assert audit.trust_score == trust.score_of(audit.flags) == 100, audit.flags
        assert audit.check_in_distance_m <= audit_stores[audit.store_id].geofence_radius_m
        assert audit.started_at == audit.captured_at + (
            audit.server_received_at - audit.device_time
        )
        assert stamped[("audit.started", audit.id)] == [audit.server_received_at]
        assert stamped[("audit.submitted", audit.id)] == [audit.submitted_at]
    _assert_rectifications(rects, audits, visits, after_photos, notices, stamped, supervisor_id)

    # The supervisor's queue: the submitted visits, oldest submission first.
    supervisor = await _login(client, "supervisor")
    queue: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        url = "/api/v1/review-queue?limit=50" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=supervisor)
        assert response.status_code == 200, response.text
        body = response.json()
        queue += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    submitted = sorted(
        (v for v in visits if v.status == VisitStatus.submitted),
        key=lambda v: (v.submitted_at, v.id),
    )
    assert [item["id"] for item in queue] == [str(v.id) for v in submitted]
    assert queue and all(item["status"] == "submitted" for item in queue)
    assert queue[0]["summary"]["store"]["name"] == queue[0]["store"]["name"]

    # Photo files are really there, served to the supervisor.
    first = queue[0]["photos"]
    assert set(first) == {"storefront", "shelf", "conversation"}
    for photo in first.values():
        for url in (photo["url"], photo["thumb_url"]):
            image = await client.get(url, headers=supervisor)
            assert image.status_code == 200, image.text
            assert image.headers["content-type"] == "image/jpeg"
            assert image.content[:2] == b"\xff\xd8"

    # Overdue actions show on the supervisor's board.
    overdue = await client.get("/api/v1/next-actions?status=overdue", headers=supervisor)
    assert overdue.status_code == 200, overdue.text
    assert 2 <= len(overdue.json()["items"]) <= 3

    # The rep whose visit was rejected has the notice in the inbox.
    rejected = next(v for v in visits if v.status == VisitStatus.rejected)
    rep = await _login(client, reps[rejected.rep_id])
    inbox = (await client.get("/api/v1/notifications?limit=200", headers=rep)).json()["items"]
    assert any(n["type"] == "visit.rejected" for n in inbox)

    # rep1 sees a rectification to do on Today (what it asks for: owed, by due time).
    rep1 = await _login(client, "rep1")
    owed = await client.get("/api/v1/rectifications?assignee=me&status=open", headers=rep1)
    assert owed.status_code == 200, owed.text
    assert any(not item["overdue"] for item in owed.json()["items"]), owed.json()

    # Seeding again changes nothing.
    async with session_scope(sessionmaker) as session:
        again = await seed_demo(session, settings)
    assert again.org_id == demo.org_id
    assert again.store_ids and sorted(again.store_ids) == sorted(demo.store_ids)
    async with sessionmaker() as session:
        assert await _table_counts(session) == before

    # A newcomer signing in as rep1 can check in at once; rep3, at a store right now, is told
    # where their open visit is.
    admin = await _login(client, "admin")
    store = (await client.get(f"/api/v1/stores/{demo.store_ids[0]}", headers=admin)).json()
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    position = {"lat": store["lat"], "lng": store["lng"], "accuracy_m": 10, "captured_at": stamp}
    body = {"qr": store["qr_url"], "position": position, "device_time": stamp}
    first = await client.post(
        "/api/v1/visits",
        json={**body, "id": str(uuid.uuid4())},
        headers=await _login(client, "rep1"),
    )
    assert first.status_code == 201, first.text
    refused = await client.post(
        "/api/v1/visits",
        json={**body, "id": str(uuid.uuid4())},
        headers=await _login(client, "rep3"),
    )
    assert refused.status_code == 409 and refused.json()["code"] == "visit_already_open"
    open_visit = next(v for v in visits if v.status == VisitStatus.open)
    assert refused.json()["visit_id"] == str(open_visit.id)
    async with sessionmaker() as session:
        open_store = await session.get_one(Store, open_visit.store_id)
    assert refused.json()["store"] == {"id": str(open_store.id), "name": open_store.name}


def _assert_rectifications(
    rects: list[Rectification],
    audits: list[Audit],
    visits: list[Visit],
    after_photos: dict[uuid.UUID | None, Photo],
    notices: list[Notification],
    stamped: dict[tuple[str, uuid.UUID], list[datetime]],
    supervisor_id: uuid.UUID,
) -> None:
    """Every state, each fix proven by an after photo taken during the assignee's visit at the
    store, and exactly one task overdue, escalated to the supervisor by the job."""
    states = Counter(r.status for r in rects)
    assert set(states) == set(RectificationStatus), states
    by_audit = Counter(r.audit_id for r in rects)
    for audit in audits:
        assert by_audit[audit.id] == len(_failed_items(audit)), audit.id
    visits_by_id = {v.id: v for v in visits}
    now = datetime.now(UTC)
    for rect in rects:
        assert stamped[("rectification.created", rect.id)] == [rect.created_at]
        if rect.status == RectificationStatus.open:
            assert rect.visit_id is None and rect.id not in after_photos
            continue
        # Fixed at the door: the photo while the assignee's visit at the store was open.
        visit = visits_by_id[rect.visit_id] if rect.visit_id else None
        assert visit is not None and visit.rep_id == rect.assignee_id, rect.id
        assert visit.store_id == rect.store_id
        photo = after_photos[rect.id]
        assert visit.submitted_at is not None
        assert visit.server_received_at < photo.taken_at < visit.submitted_at
        assert not photo.flags, photo.flags
        assert rect.submitted_at is not None and photo.taken_at < rect.submitted_at
        if rect.status == RectificationStatus.verified:
            assert rect.verified_at is not None and rect.submitted_at < rect.verified_at < now
        if rect.status == RectificationStatus.reopened:
            assert rect.reopened_at is not None and rect.submitted_at < rect.reopened_at < now
            assert rect.due_at > now  # a reopen gives time again
    owed = (RectificationStatus.open, RectificationStatus.reopened)
    late = [r for r in rects if r.status in owed and r.due_at < now]
    assert len(late) == 1, late
    (overdue,) = late
    assert overdue.critical and overdue.escalated_at is not None
    assert stamped[("rectification.overdue", overdue.id)] == [overdue.escalated_at]
    escalations = [n for n in notices if n.type == "rectification.overdue"]
    assert [(n.subject_id, n.user_id, n.created_at) for n in escalations] == [
        (overdue.id, supervisor_id, overdue.escalated_at)
    ]
    assert any(n.type == "rectification.due" and n.subject_id == overdue.id for n in notices)
    assert any(r.status == RectificationStatus.open and r.due_at > now for r in rects)


def _failed_items(audit: Audit) -> list[str]:
    checklist = _standard_checklist()
    return [
        key
        for key, stored in audit.results.items()
        if (item := checklist.item(key)) is not None and item_failed(item, stored)
    ]


def _standard_checklist() -> checklists.Checklist:
    items = checklists.stored_items(audit_defaults.standard_checklist())
    return checklists.checklist_from_stored("standard", 1, items)


# --- the plan, whatever the day and hour the demo is seeded at ---------------------------------

_ZONE = ZoneInfo("Asia/Shanghai")
_MONDAY = datetime(2026, 3, 2, tzinfo=_ZONE)


@pytest.mark.parametrize("day", range(7), ids=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
def test_the_weeks_audits_are_planned_on_any_day_at_any_hour(day: int) -> None:
    stores = [
        Store(id=uuid.UUID(int=n + 1), **spec.model_dump())
        for n, spec in enumerate(demo_module.demo_stores(None))
    ]
    reps = [
        User(id=uuid.UUID(int=1000 + n), username=username, display_name=name, role=Role.rep)
        for n, (username, name) in enumerate(REPS)
    ]
    for hours in (0.5, 7, 9.5, 11, 13, 16, 18.5, 23.9):
        now = (_MONDAY + timedelta(days=day, hours=hours)).astimezone(UTC)
        week = demo_module.plan_week(
            random.Random(demo_module.DEMO_SEED),
            now,
            _ZONE,
            reps,
            stores,
            _standard_checklist(),
            timedelta(days=7),
        )
        _assert_planned_audits(week, now)


def _assert_planned_audits(week: demo_module.WeekPlan, now: datetime) -> None:
    audits = week.audits
    assert len(audits) == 5, now
    assert len({a.store.id for a in audits}) == 5
    spans = sorted((a.checked_in_at, a.submitted_at) for a in audits)
    assert all(end < nxt for (_, end), (nxt, _) in itertools.pairwise(spans))
    assert spans[-1][1] < now
    outcomes = Counter(fix.outcome for a in audits for fix in a.fixes)
    assert set(outcomes) == {
        RectificationStatus.submitted,
        RectificationStatus.verified,
        RectificationStatus.reopened,
    }, (now, outcomes)
    for audit in audits:
        for fix in audit.fixes:
            visit = fix.visit
            assert visit.store is audit.store and visit.rep is audit.assignee
            assert visit.kind == "visit" and not visit.offline
            assert (
                audit.submitted_at
                < visit.server_received_at
                < fix.photo_at
                < fix.submitted_at
                < visit.submitted_at
            ), now
            if fix.judged_at is not None:
                assert visit.submitted_at < fix.judged_at < now
    fixed = {(a.id, fix.item_key) for a in audits for fix in a.fixes}
    left = [(a, key, due) for a in audits for key, due in a.due.items() if (a.id, key) not in fixed]
    # One task overdue (its escalation tick is before now); the others still have time.
    assert len([due for _, _, due in left if due < now]) == 1, now
    assert any(due > now and a.assignee.username == "rep1" for a, _, due in left), now
