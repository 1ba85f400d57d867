"""The list: visibility by role, filters, sorting by due time, cursor pages, and a fixed number
of queries however long the page."""

from datetime import timedelta
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_scope
from backend.kit.pagination import PageParams
from backend.kit.time import utc_now
from backend.models import Rectification, RectificationStatus
from backend.rectifications import service
from backend.rectifications.schemas import RectificationFilters
from tests.factories.audits import Tour
from tests.factories.world import principal

BASE = "/api/v1/rectifications"


async def _ids(tour: Tour, actor: Any, **params: Any) -> list[str]:
    response = await tour.get(BASE, actor, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["server_time"].endswith("Z")
    return [item["id"] for item in body["items"]]


async def test_each_role_lists_what_it_may_see(tour: Tour) -> None:
    org = tour.org
    at_a = (await tour.raise_at()).first  # team A store, team A rep, by A's supervisor
    reps_task = (  # team B store, team A rep, by B's supervisor
        await tour.raise_at(tour.other_store, auditor=tour.other_supervisor)
    ).first
    raised_by_a = (  # team B store, team B rep, by A's supervisor
        await tour.raise_at(tour.other_store, assignee=org.other_rep)
    ).first
    everything = {str(at_a.id), str(reps_task.id), str(raised_by_a.id)}
    assert set(await _ids(tour, org.admin)) == everything
    assert set(await _ids(tour, org.supervisor)) == everything
    assert set(await _ids(tour, tour.other_supervisor)) == {str(reps_task.id), str(raised_by_a.id)}
    assert set(await _ids(tour, org.rep)) == {str(at_a.id), str(reps_task.id)}
    assert set(await _ids(tour, org.other_rep)) == {str(raised_by_a.id)}
    stranger = (await tour.world.org()).admin
    assert await _ids(tour, stranger) == []

    assert set(await _ids(tour, org.supervisor, assignee="me")) == set()
    assert set(await _ids(tour, org.admin, assignee=str(org.other_rep.id))) == {str(raised_by_a.id)}
    assert set(await _ids(tour, org.rep, store_id=tour.store["id"])) == {str(at_a.id)}


async def test_filters_by_status_and_overdue(tour: Tour) -> None:
    org = tour.org
    raised = await tour.raise_at(items=None)
    late = (await tour.raise_at(due_in=timedelta(hours=2))).first
    open_one = raised.first
    async with session_scope(tour.sessionmaker) as session:
        await session.execute(
            update(Rectification)
            .where(Rectification.id == late.id)
            .values(due_at=utc_now() - timedelta(hours=1))
        )
        await session.execute(
            update(Rectification)
            .where(Rectification.id == open_one.id)
            .values(status=RectificationStatus.submitted)
        )
    assert await _ids(tour, org.rep, status="open") == [str(late.id)]
    assert await _ids(tour, org.rep, status="submitted") == [str(open_one.id)]
    assert await _ids(tour, org.rep, overdue="true") == [str(late.id)]
    assert await _ids(tour, org.rep, overdue="false") == [str(open_one.id)]
    assert await _ids(tour, org.rep, status="verified") == []
    item = (await tour.get(BASE, org.rep, overdue="true")).json()["items"][0]
    assert item["overdue"] is True and item["status"] == "open"
    bad = await tour.get(BASE, org.rep, status="closed")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    bad_cursor = await tour.get(BASE, org.rep, cursor="not-a-cursor")
    assert bad_cursor.status_code == 422


async def test_sorted_by_due_time_in_pages(tour: Tour) -> None:
    dues = [timedelta(days=5), timedelta(days=1), timedelta(days=3), timedelta(days=2)]
    ids = [(await tour.raise_at(due_in=d)).first.id for d in dues]
    expected = [str(ids[i]) for i in (1, 3, 2, 0)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await tour.get(BASE, tour.org.rep, **params)).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    item = (await tour.get(f"{BASE}/{ids[1]}", tour.org.rep)).json()
    assert item["store"] == {
        "id": tour.store["id"],
        "code": tour.store["code"],
        "name": tour.store["name"],
    }
    assert item["assignee"] == {"id": str(tour.org.rep.id), "display_name": "rep"}
    assert set(item["title"]) == {"zh", "en"}


async def test_a_page_costs_the_same_queries_however_long(tour: Tour) -> None:
    """One query for the page, then one batch each for stores, people, history and photos:
    never one per item."""
    engine: AsyncEngine = tour.sessionmaker.kw["bind"]
    for i in range(6):
        store = tour.store if i % 2 else tour.other_store
        await tour.raise_at(store, items=None, photo_seed=300 + i)

    async def statements(limit: int) -> int:
        count = 0

        def counted(*_: Any) -> None:
            nonlocal count
            count += 1

        event.listen(engine.sync_engine, "before_cursor_execute", counted)
        try:
            async with session_scope(tour.sessionmaker) as session:
                items, _ = await service.list_rectifications(
                    session,
                    principal(tour.org.admin),
                    RectificationFilters(),
                    PageParams(limit=limit, cursor=None),
                    utc_now(),
                )
                assert len(items) == limit
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", counted)
        return count

    assert await statements(1) == await statements(6)
