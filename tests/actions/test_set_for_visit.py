import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.actions import service
from backend.actions.exceptions import ActionDueOutOfRange, ActionIdConflict
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import Event, NextAction, NextActionType, Store
from tests.factories.actions import Desk


async def test_six_days_23_hours_after_check_in_is_accepted(desk: Desk) -> None:
    visit = await desk.visit()
    action, created = await desk.set(visit, visit.checked_in_at + timedelta(days=6, hours=23))
    assert created
    assert action.due_at == visit.checked_in_at + timedelta(days=6, hours=23)
    assert action.assignee_id == desk.org.rep.id
    assert action.store_id == visit.store_id


async def test_exactly_seven_days_is_accepted(desk: Desk) -> None:
    visit = await desk.visit()
    _, created = await desk.set(visit, visit.checked_in_at + timedelta(days=7))
    assert created


async def test_seven_days_and_one_second_is_refused(desk: Desk) -> None:
    visit = await desk.visit()
    latest = visit.checked_in_at + timedelta(days=7)
    with pytest.raises(ActionDueOutOfRange) as caught:
        await desk.set(visit, latest + timedelta(seconds=1))
    assert caught.value.status == 422
    assert caught.value.code == "action_due_out_of_range"
    assert caught.value.extra["latest"] == latest.isoformat().replace("+00:00", "Z")
    assert "earliest" in caught.value.extra


@pytest.mark.parametrize("ago", [timedelta(seconds=1), timedelta(days=1)])
async def test_the_past_is_refused(desk: Desk, ago: timedelta) -> None:
    visit = await desk.visit()
    with pytest.raises(ActionDueOutOfRange):
        await desk.set(visit, utc_now() - ago)


async def test_nothing_is_stored_when_refused(desk: Desk) -> None:
    visit = await desk.visit()
    with pytest.raises(ActionDueOutOfRange):
        await desk.set(visit, visit.checked_in_at + timedelta(days=8))
    async with session_scope(desk.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(NextAction)) == 0


async def test_replay_returns_the_stored_action(desk: Desk) -> None:
    visit = await desk.visit()
    action_id = uuid.uuid4()
    due = utc_now() + timedelta(days=2)
    first, created = await desk.set(visit, due, action_id=action_id)
    again, created_again = await desk.set(visit, due, action_id=action_id)
    assert created and not created_again
    assert again.id == first.id == action_id
    async with session_scope(desk.sessionmaker) as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "next_action.created")
        )
    assert events == 1


async def test_same_id_different_content_is_a_conflict(desk: Desk) -> None:
    visit = await desk.visit()
    action_id = uuid.uuid4()
    due = utc_now() + timedelta(days=2)
    await desk.set(visit, due, action_id=action_id)
    with pytest.raises(ActionIdConflict):
        await desk.set(visit, due, action_id=action_id, note="something else")


async def test_same_id_on_another_visit_is_a_conflict(desk: Desk) -> None:
    visit = await desk.visit()
    action_id = uuid.uuid4()
    due = utc_now() + timedelta(days=2)
    await desk.set(visit, due, action_id=action_id)
    other = await desk.visit(desk.org.other_rep)
    with pytest.raises(ActionIdConflict) as caught:
        await desk.set(other, due, action_id=action_id)
    assert caught.value.status == 409


async def test_a_new_id_replaces_the_visits_action(desk: Desk) -> None:
    visit = await desk.visit()
    first, _ = await desk.set(visit, utc_now() + timedelta(days=2))
    second, created = await desk.set(visit, utc_now() + timedelta(days=3), type=NextActionType.demo)
    assert created and second.id != first.id
    async with session_scope(desk.sessionmaker) as session:
        ids = (await session.scalars(select(NextAction.id))).all()
        replaced = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "next_action.replaced")
        )
    assert ids == [second.id]
    assert replaced == 1


async def test_for_visits_and_action_read(desk: Desk) -> None:
    visit = await desk.visit()
    action, _ = await desk.set(visit, utc_now() + timedelta(days=1))
    async with session_scope(desk.sessionmaker) as session:
        found = await service.for_visits(session, visit.org_id, [visit.id, uuid.uuid4()])
        foreign = await service.for_visits(session, uuid.uuid4(), [visit.id])
        store = await session.get_one(Store, visit.store_id)
    assert list(found) == [visit.id] and foreign == {}
    read = service.action_read(found[visit.id], service.store_ref(store), utc_now())
    assert read.id == action.id and read.visit_id == visit.id
    assert read.store.id == visit.store_id and read.store.name == store.name
    assert read.status == "open" and read.overdue is False and read.reschedule_count == 0
    late = service.action_read(
        found[visit.id], service.store_ref(store), now=action.due_at + timedelta(seconds=1)
    )
    assert late.overdue is True


async def test_drop_for_visit_removes_an_open_action(desk: Desk) -> None:
    visit = await desk.visit()
    await desk.set(visit, utc_now() + timedelta(days=1))
    async with session_scope(desk.sessionmaker) as session:
        assert await service.drop_for_visit(session, visit.org_id, visit.id, visit.rep_id)
        assert not await service.drop_for_visit(session, visit.org_id, visit.id, visit.rep_id)
        assert await service.for_visits(session, visit.org_id, [visit.id]) == {}
