"""Reminders at due - 24 h and at due, escalation once overdue: on time, never early, exactly
once, with two job runners and two real schedulers on one database."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models import Event, Notification, Rectification, RectificationStatus
from backend.rectifications import jobs, service
from tests.factories.audits import Tour, photo_bytes
from tests.replicas import run_on_two_replicas

BASE = "/api/v1/rectifications"


async def _notifications(
    tour: Tour, type: str | None = None, subject_id: uuid.UUID | None = None
) -> Sequence[Notification]:
    stmt = select(Notification).where(Notification.type.like("rectification.%"))
    stmt = stmt.where(Notification.type != "rectification.created").order_by(
        Notification.created_at
    )
    if type is not None:
        stmt = stmt.where(Notification.type == type)
    if subject_id is not None:
        stmt = stmt.where(Notification.subject_id == subject_id)
    async with session_scope(tour.sessionmaker) as session:
        return (await session.scalars(stmt)).all()


async def _count_events(tour: Tour, type: str) -> int:
    async with session_scope(tour.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == type)
        )
    return int(count or 0)


async def test_nothing_fires_early(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=2))).first
    for now in (utc_now(), rect.due_at - timedelta(hours=24, seconds=1)):
        assert await jobs.run_all(tour.sessionmaker, now) == 0
    assert await jobs.run_escalations(tour.sessionmaker, rect.due_at) == 0
    assert await _notifications(tour) == []


async def test_each_reminder_and_the_escalation_once_at_its_time(tour: Tour) -> None:
    org = tour.org
    rect = (await tour.raise_at(due_in=timedelta(days=2))).first
    due = rect.due_at

    assert await jobs.run_reminders(tour.sessionmaker, due - timedelta(hours=23)) == 1
    assert await jobs.run_reminders(tour.sessionmaker, due - timedelta(hours=22)) == 0
    (soon,) = await _notifications(tour, "rectification.due_soon")
    assert soon.user_id == org.rep.id and soon.subject_id == rect.id
    assert "24" in soon.title["zh"] and "24 hours" in soon.title["en"]
    assert tour.store["name"] in soon.title["zh"]

    assert await jobs.run_reminders(tour.sessionmaker, due) == 1
    assert await jobs.run_reminders(tour.sessionmaker, due + timedelta(minutes=5)) == 0
    (now_due,) = await _notifications(tour, "rectification.due")
    assert now_due.user_id == org.rep.id

    late = due + timedelta(minutes=1)
    assert await jobs.run_escalations(tour.sessionmaker, late) == 1
    assert await jobs.run_escalations(tour.sessionmaker, late + timedelta(hours=1)) == 0
    (overdue,) = await _notifications(tour, "rectification.overdue")
    # The team A supervisor is both the store's supervisor and the auditor: told once.
    assert overdue.user_id == org.supervisor.id
    assert await _count_events(tour, "rectification.overdue") == 1
    read = await tour.get(f"{BASE}/{rect.id}", org.rep)
    assert read.json()["overdue"] is False  # the API counts at the real now, before due


async def test_escalation_tells_the_stores_supervisor_and_the_auditor(tour: Tour) -> None:
    org = tour.org
    rect = (
        await tour.raise_at(tour.other_store, auditor=org.supervisor, assignee=org.other_rep)
    ).first
    assert await jobs.run_escalations(tour.sessionmaker, rect.due_at + timedelta(minutes=1)) == 1
    told = {n.user_id for n in await _notifications(tour, "rectification.overdue")}
    assert told == {org.supervisor.id, tour.other_supervisor.id}
    async with session_scope(tour.sessionmaker) as session:
        event = await session.scalar(
            select(Event).where(Event.type == "rectification.overdue", Event.subject_id == rect.id)
        )
    assert event is not None
    assert sorted(event.payload["notified"]) == sorted(str(u) for u in told)


async def test_without_anyone_else_the_admins_are_told(tour: Tour) -> None:
    """A store of no team whose auditor is the assignee: nobody else would hear of it, so the
    org's admins do."""
    org = tour.org
    store = await tour.field.store(name="无组门店")
    rect = (await tour.raise_at(store, auditor=org.rep, assignee=org.rep)).first
    assert await jobs.run_escalations(tour.sessionmaker, rect.due_at + timedelta(minutes=1)) == 1
    (overdue,) = await _notifications(tour, "rectification.overdue")
    assert overdue.user_id == org.admin.id


async def test_a_missed_day_before_reminder_is_not_sent_late(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=2))).first
    assert await jobs.run_reminders(tour.sessionmaker, rect.due_at + timedelta(hours=1)) == 1
    assert [n.type for n in await _notifications(tour)] == ["rectification.due"]


async def test_submitted_and_verified_tasks_are_left_alone(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=2))).first
    await tour.check_in(tour.store)
    put = await tour.put_after_photo(rect.id, photo_bytes(5))
    assert put.status_code == 201, put.text
    done = await tour.post(f"{BASE}/{rect.id}/submit", tour.org.rep, {})
    assert done.status_code == 200, done.text
    assert await jobs.run_all(tour.sessionmaker, rect.due_at + timedelta(days=1)) == 0
    assert await _notifications(tour, "rectification.due") == []


async def test_a_reopen_starts_the_reminders_over(tour: Tour) -> None:
    org = tour.org
    rect = (await tour.raise_at(due_in=timedelta(days=1))).first
    await _make_due(tour, [rect.id], utc_now() - timedelta(minutes=10))
    assert await jobs.run_all(tour.sessionmaker) == 2  # due now, then escalated
    await tour.check_in(tour.store)
    assert (await tour.put_after_photo(rect.id, photo_bytes(6))).status_code == 201
    assert (await tour.post(f"{BASE}/{rect.id}/submit", org.rep, {})).status_code == 200
    reopened = await tour.post(f"{BASE}/{rect.id}/reopen", org.supervisor, {"reason": "不行"})
    assert reopened.status_code == 200, reopened.text
    new_due = datetime.fromisoformat(reopened.json()["due_at"])
    assert await jobs.run_all(tour.sessionmaker) == 0
    assert await jobs.run_reminders(tour.sessionmaker, new_due - timedelta(hours=1)) == 1
    assert await jobs.run_reminders(tour.sessionmaker, new_due) == 1
    assert await jobs.run_escalations(tour.sessionmaker, new_due + timedelta(minutes=1)) == 1
    kinds = sorted(n.type for n in await _notifications(tour, subject_id=rect.id))
    assert kinds == sorted(
        ["rectification.due", "rectification.overdue"] * 2
        + [
            "rectification.due_soon",
            "rectification.submitted",
            "rectification.reopened",
        ]
    )


async def test_run_all_in_one_org_leaves_the_others_alone(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=1))).first
    later = rect.due_at + timedelta(minutes=1)
    async with session_scope(tour.sessionmaker) as session:
        assert await jobs.run_all_in(session, later, uuid.uuid4()) == 0
    async with session_scope(tour.sessionmaker) as session:
        assert await jobs.run_all_in(session, later, tour.org.id) == 2
    assert {n.type for n in await _notifications(tour)} == {
        "rectification.due",
        "rectification.overdue",
    }


TASKS = 12


async def _many(tour: Tour) -> list[Rectification]:
    org = tour.org
    out: list[Rectification] = []
    for i in range(TASKS):
        store, assignee = (tour.store, org.rep) if i % 2 else (tour.other_store, org.other_rep)
        raised = await tour.raise_at(
            store, assignee=assignee, due_in=timedelta(days=2, minutes=i), with_photos=False
        )
        out.append(raised.first)
    return out


async def _make_due(tour: Tour, ids: list[uuid.UUID], due_at: datetime) -> None:
    # Time passing: move the due times into the past.
    async with session_scope(tour.sessionmaker) as session:
        await session.execute(
            update(Rectification).where(Rectification.id.in_(ids)).values(due_at=due_at)
        )


async def _assert_once_each(tour: Tour, rects: list[Rectification], type: str) -> None:
    sent = await _notifications(tour, type)
    expected = [r.id for r in rects]
    if type == "rectification.overdue":
        # Escalations may go to two people (store's supervisor and auditor): once each.
        pairs = [(n.subject_id, n.user_id) for n in sent]
        assert len(pairs) == len(set(pairs))
        assert sorted({s for s, _ in pairs}) == sorted(expected)
        return
    assert sorted(n.subject_id for n in sent) == sorted(expected)


async def test_two_job_runners_together_send_each_once(
    tour: Tour, monkeypatch: pytest.MonkeyPatch
) -> None:
    rects = await _many(tour)
    monkeypatch.setattr(service, "JOB_BATCH", 3)  # many small batches: more interleaving
    assert tour.settings.database_url
    other_engine = create_engine(tour.settings.database_url, tour.settings)
    makers: list[async_sessionmaker[AsyncSession]] = [
        tour.sessionmaker,
        create_sessionmaker(other_engine),
    ]
    last_due = max(r.due_at for r in rects)
    day_before = last_due - timedelta(hours=12)
    overdue = last_due + timedelta(minutes=1)
    try:
        sent = await asyncio.gather(*(jobs.run_reminders(m, day_before) for m in makers * 2))
        assert sum(sent) == TASKS
        sent = await asyncio.gather(*(jobs.run_all(m, overdue) for m in makers * 2))
        assert sum(sent) == 2 * TASKS  # each: due now, then escalated
    finally:
        await other_engine.dispose()
    await _assert_once_each(tour, rects, "rectification.due_soon")
    await _assert_once_each(tour, rects, "rectification.due")
    await _assert_once_each(tour, rects, "rectification.overdue")
    assert await _count_events(tour, "rectification.overdue") == TASKS


async def test_two_real_schedulers_fire_each_reminder_and_escalation_once(tour: Tour) -> None:
    rects = await _many(tour)
    await _make_due(tour, [r.id for r in rects], utc_now() - timedelta(minutes=1))
    pending = (
        select(func.count())
        .select_from(Rectification)
        .where(
            Rectification.status == RectificationStatus.open,
            (Rectification.escalated_at.is_(None)) | (Rectification.reminded_due_at.is_(None)),
        )
    )
    await run_on_two_replicas(tour.settings, tour.sessionmaker, jobs.JOB_ID, pending)
    await _assert_once_each(tour, rects, "rectification.due")
    await _assert_once_each(tour, rects, "rectification.overdue")
    assert await _notifications(tour, "rectification.due_soon") == []
    assert await _count_events(tour, "rectification.overdue") == TASKS
