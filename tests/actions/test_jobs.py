"""Reminders and escalations: on time, never early, and exactly once with two schedulers."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import jobs, service
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models import Event, NextAction, Notification
from tests.factories.actions import Desk
from tests.factories.visits import iso
from tests.replicas import run_on_two_replicas


async def _notifications(
    desk: Desk, type: str | None = None, action_id: uuid.UUID | None = None
) -> Sequence[Notification]:
    stmt = select(Notification).order_by(Notification.created_at)
    if type is not None:
        stmt = stmt.where(Notification.type == type)
    if action_id is not None:
        stmt = stmt.where(Notification.subject_id == action_id)
    async with session_scope(desk.sessionmaker) as session:
        return (await session.scalars(stmt)).all()


async def _count_events(desk: Desk, type: str) -> int:
    async with session_scope(desk.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == type)
        )
    return int(count or 0)


async def test_nothing_fires_early(desk: Desk) -> None:
    action = await desk.action(due_in=timedelta(days=2))
    due = action.due_at
    for now in (utc_now(), due - timedelta(hours=24, seconds=1)):
        assert await jobs.run_reminders(desk.sessionmaker, now) == 0
        assert await jobs.run_escalations(desk.sessionmaker, now) == 0
    # At the due time itself the action is due but not yet overdue.
    assert await jobs.run_escalations(desk.sessionmaker, due) == 0
    assert await _notifications(desk) == []


async def test_each_reminder_and_the_escalation_once_at_its_time(desk: Desk) -> None:
    org = desk.org
    await desk.leads_team(org.supervisor, org.rep)
    action = await desk.action(due_in=timedelta(days=2))
    due = action.due_at

    assert await jobs.run_reminders(desk.sessionmaker, due - timedelta(hours=23)) == 1
    assert await jobs.run_reminders(desk.sessionmaker, due - timedelta(hours=22)) == 0
    (soon,) = await _notifications(desk, "next_action.due_soon")
    assert soon.user_id == org.rep.id and soon.subject_id == action.id
    assert "24" in soon.title["zh"] and soon.title["en"].startswith("Due within 24 hours")

    assert await jobs.run_reminders(desk.sessionmaker, due) == 1
    assert await jobs.run_reminders(desk.sessionmaker, due + timedelta(minutes=5)) == 0
    (due_now,) = await _notifications(desk, "next_action.due")
    assert due_now.user_id == org.rep.id

    late = due + timedelta(minutes=1)
    assert await jobs.run_escalations(desk.sessionmaker, late) == 1
    assert await jobs.run_escalations(desk.sessionmaker, late + timedelta(hours=1)) == 0
    (overdue,) = await _notifications(desk, "next_action.overdue")
    assert overdue.user_id == org.supervisor.id
    assert await _count_events(desk, "next_action.overdue") == 1


async def test_done_actions_are_left_alone(desk: Desk) -> None:
    action = await desk.action(due_in=timedelta(days=2))
    response = await desk.post(f"/api/v1/next-actions/{action.id}/complete", desk.org.rep, {})
    assert response.status_code == 200
    later = action.due_at + timedelta(days=1)
    assert await jobs.run_reminders(desk.sessionmaker, later) == 0
    assert await jobs.run_escalations(desk.sessionmaker, later) == 0


async def test_a_missed_day_before_reminder_is_not_sent_late(desk: Desk) -> None:
    action = await desk.action(due_in=timedelta(days=2))
    assert await jobs.run_reminders(desk.sessionmaker, action.due_at + timedelta(hours=1)) == 1
    assert [n.type for n in await _notifications(desk)] == ["next_action.due"]


async def test_an_action_set_inside_its_last_day_gets_no_day_before_reminder(
    desk: Desk,
) -> None:
    action = await desk.action(due_in=timedelta(hours=5))
    assert await jobs.run_reminders(desk.sessionmaker, utc_now() + timedelta(hours=1)) == 0
    assert await jobs.run_reminders(desk.sessionmaker, action.due_at) == 1


async def test_without_a_team_supervisor_the_admins_are_told(desk: Desk) -> None:
    action = await desk.action(due_in=timedelta(days=1))
    assert await jobs.run_escalations(desk.sessionmaker, action.due_at + timedelta(hours=1)) == 1
    (overdue,) = await _notifications(desk, "next_action.overdue")
    assert overdue.user_id == desk.org.admin.id


async def test_rescheduling_restarts_the_reminders(desk: Desk) -> None:
    await desk.leads_team(desk.org.supervisor, desk.org.rep)
    action = await desk.action(due_in=timedelta(days=2))
    await _make_due(desk, [action.id], utc_now() - timedelta(minutes=10))
    assert await jobs.run_reminders(desk.sessionmaker) == 1
    assert await jobs.run_escalations(desk.sessionmaker) == 1
    new_due = utc_now() + timedelta(days=3)
    response = await desk.post(
        f"/api/v1/next-actions/{action.id}/reschedule",
        desk.org.rep,
        {"due_at": iso(new_due), "reason": "客户下周才在店"},
    )
    assert response.status_code == 200, response.text
    assert await jobs.run_reminders(desk.sessionmaker) == 0
    assert await jobs.run_reminders(desk.sessionmaker, new_due - timedelta(hours=1)) == 1
    assert await jobs.run_reminders(desk.sessionmaker, new_due) == 1
    assert await jobs.run_escalations(desk.sessionmaker, new_due + timedelta(minutes=1)) == 1
    kinds = [n.type for n in await _notifications(desk, action_id=action.id)]
    assert sorted(kinds) == sorted(
        ["next_action.due", "next_action.overdue"] * 2 + ["next_action.due_soon"]
    )


ACTIONS = 12


async def _many_actions(desk: Desk) -> list[NextAction]:
    org = desk.org
    await desk.leads_team(org.supervisor, org.rep, org.other_rep)
    actors = [org.rep, org.other_rep]
    return [
        await desk.action(actors[i % 2], due_in=timedelta(days=2, minutes=i))
        for i in range(ACTIONS)
    ]


async def _make_due(desk: Desk, ids: list[uuid.UUID], due_at: datetime) -> None:
    # Time passing: move the due times into the past (the API refuses past due times).
    async with session_scope(desk.sessionmaker) as session:
        await session.execute(
            update(NextAction).where(NextAction.id.in_(ids)).values(due_at=due_at)
        )


async def _assert_once_each(desk: Desk, actions: list[NextAction], type: str) -> None:
    sent = await _notifications(desk, type)
    assert sorted(n.subject_id for n in sent) == sorted(a.id for a in actions)


async def test_two_replicas_running_the_jobs_together_send_each_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    actions = await _many_actions(desk)
    monkeypatch.setattr(service, "JOB_BATCH", 3)  # many small batches: more interleaving
    assert desk.settings.database_url
    other_engine = create_engine(desk.settings.database_url, desk.settings)
    makers: list[async_sessionmaker[AsyncSession]] = [
        desk.sessionmaker,
        create_sessionmaker(other_engine),
    ]
    day_before = actions[-1].due_at - timedelta(hours=12)
    overdue = actions[-1].due_at + timedelta(minutes=1)
    try:
        sent = await asyncio.gather(*(jobs.run_reminders(m, day_before) for m in makers * 2))
        assert sum(sent) == ACTIONS
        sent = await asyncio.gather(*(jobs.run_reminders(m, overdue) for m in makers * 2))
        assert sum(sent) == ACTIONS
        escalated = await asyncio.gather(*(jobs.run_escalations(m, overdue) for m in makers * 2))
        assert sum(escalated) == ACTIONS
    finally:
        await other_engine.dispose()
    await _assert_once_each(desk, actions, "next_action.due_soon")
    await _assert_once_each(desk, actions, "next_action.due")
    await _assert_once_each(desk, actions, "next_action.overdue")
    assert await _count_events(desk, "next_action.overdue") == ACTIONS


async def test_two_real_schedulers_fire_each_reminder_and_escalation_once(desk: Desk) -> None:
    actions = await _many_actions(desk)
    await _make_due(desk, [a.id for a in actions], utc_now() - timedelta(minutes=1))
    pending = (
        select(func.count())
        .select_from(NextAction)
        .where((NextAction.escalated_at.is_(None)) | (NextAction.reminded_due_at.is_(None)))
    )
    await run_on_two_replicas(desk.settings, desk.sessionmaker, jobs.JOB_ID, pending)
    await _assert_once_each(desk, actions, "next_action.due")
    await _assert_once_each(desk, actions, "next_action.overdue")
    assert await _notifications(desk, "next_action.due_soon") == []
    assert await _count_events(desk, "next_action.overdue") == ACTIONS
