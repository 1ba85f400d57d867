"""The demo seed: a week of realistic visits in every state, seeded once."""

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.demo import DEMO_PASSWORD, REPS, SUPERVISOR, seed_demo
from backend.events.catalog import PAYLOADS, EventType
from backend.models import (
    Event,
    NextAction,
    NextActionStatus,
    Notification,
    Photo,
    PhotoHashBand,
    Store,
    User,
    Visit,
    VisitReview,
    VisitStatus,
)
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
    for model in (Visit, Photo, PhotoHashBand, NextAction, VisitReview, Notification, Event):
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
