import uuid
from datetime import datetime, timedelta

from sqlalchemy import update

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import NextAction
from tests.factories.actions import Desk
from tests.factories.visits import iso

BASE = "/api/v1/next-actions"


async def _move_due(desk: Desk, action_id: uuid.UUID, due_at: datetime) -> None:
    # Time passing: the API never accepts a due time in the past.
    async with session_scope(desk.sessionmaker) as session:
        await session.execute(
            update(NextAction).where(NextAction.id == action_id).values(due_at=due_at)
        )


async def test_read_carries_the_countdown_inputs(desk: Desk) -> None:
    action = await desk.action()
    response = await desk.get(f"{BASE}/{action.id}", desk.org.rep)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(action.id)
    assert body["due_at"].endswith("Z") and body["server_time"].endswith("Z")
    assert body["status"] == "open" and body["overdue"] is False
    assert body["reschedule_count"] == 0 and body["reschedules"] == []
    assert body["type"] == "send_sample" and body["note"] == "带 3 盒样品"


async def test_every_action_names_its_store(desk: Desk) -> None:
    """The rep's Today lists actions of visits older than the ten most recent it keeps: each
    action carries its store (never the store's door code)."""
    expected: dict[str, dict[str, str]] = {}
    for index in range(12):
        store = await desk.field.store(name=f"第 {index + 1} 号药店")
        checked_in = await desk.field.check_in(desk.field.check_in_body(store))
        assert checked_in.status_code == 201, checked_in.text
        visit = checked_in.json()
        body = {
            "id": str(uuid.uuid4()),
            "type": "quote",
            "due_at": iso(utc_now() + timedelta(days=1, hours=index)),
            "note": "",
        }
        put = await desk.client.put(
            f"/api/v1/visits/{visit['id']}/next-action", json=body, headers=desk.org.rep.headers
        )
        assert put.status_code == 201, put.text
        ref = {"id": store["id"], "code": store["code"], "name": store["name"]}
        assert put.json()["store"] == ref
        expected[body["id"]] = ref
        await desk.mark_submitted(uuid.UUID(visit["id"]))
    listed = await desk.get(BASE, desk.org.rep, limit=50)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert {item["id"] for item in items} == set(expected)
    assert all(item["store"] == expected[item["id"]] for item in items)
    oldest = next(iter(expected))
    one = (await desk.get(f"{BASE}/{oldest}", desk.org.rep)).json()
    assert one["store"] == expected[oldest]
    visit_id = one["visit_id"]
    visit = await desk.get(f"/api/v1/visits/{visit_id}", desk.org.rep)
    assert visit.json()["next_action"]["store"] == expected[oldest]
    done = await desk.post(f"{BASE}/{oldest}/complete", desk.org.rep, {"note": "已报价"})
    assert done.status_code == 200 and done.json()["store"] == expected[oldest]


async def test_list_is_sorted_by_due_time_and_paginates(desk: Desk) -> None:
    dues = [timedelta(days=3), timedelta(days=1), timedelta(days=2)]
    ids = [(await desk.action(due_in=d)).id for d in dues]
    expected = [str(ids[1]), str(ids[2]), str(ids[0])]
    first = (await desk.get(BASE, desk.org.rep, limit=2)).json()
    assert [a["id"] for a in first["items"]] == expected[:2]
    assert first["server_time"].endswith("Z")
    second = (await desk.get(BASE, desk.org.rep, limit=2, cursor=first["next_cursor"])).json()
    assert [a["id"] for a in second["items"]] == expected[2:]
    assert second["next_cursor"] is None


async def test_visibility_rep_supervisor_admin(desk: Desk) -> None:
    org = desk.org
    mine = await desk.action()
    theirs = await desk.action(org.other_rep)
    await desk.leads_team(org.supervisor, org.rep)

    def ids(response_json: dict[str, list[dict[str, str]]]) -> set[str]:
        return {a["id"] for a in response_json["items"]}

    assert ids((await desk.get(BASE, org.rep)).json()) == {str(mine.id)}
    assert ids((await desk.get(BASE, org.supervisor)).json()) == {str(mine.id)}
    assert ids((await desk.get(BASE, org.admin)).json()) == {str(mine.id), str(theirs.id)}
    # Another rep's action, or a supervisor's outside their teams: 404, not 403.
    assert (await desk.get(f"{BASE}/{theirs.id}", org.rep)).status_code == 404
    assert (await desk.get(f"{BASE}/{theirs.id}", org.supervisor)).status_code == 404
    assert (await desk.get(f"{BASE}/{theirs.id}", org.admin)).status_code == 200
    # A rep naming someone else as assignee just sees nothing.
    other = await desk.get(BASE, org.rep, assignee=str(org.other_rep.id))
    assert other.json()["items"] == []


async def test_another_org_sees_404(desk: Desk) -> None:
    action = await desk.action()
    stranger = await desk.world.org()
    for actor in (stranger.admin, stranger.rep):
        assert (await desk.get(f"{BASE}/{action.id}", actor)).status_code == 404
        done = await desk.post(f"{BASE}/{action.id}/complete", actor, {"note": "x"})
        assert done.status_code == 404
    assert (await desk.get(BASE, stranger.admin)).json()["items"] == []


async def test_filters_assignee_status_due_before(desk: Desk) -> None:
    org = desk.org
    soon = await desk.action(due_in=timedelta(hours=30))
    later = await desk.action(due_in=timedelta(days=4))
    late = await desk.action(due_in=timedelta(days=2))
    await _move_due(desk, late.id, utc_now() - timedelta(hours=1))
    done = await desk.action(org.other_rep, due_in=timedelta(days=1))
    assert (await desk.post(f"{BASE}/{done.id}/complete", org.other_rep, {})).status_code == 200

    async def listed(**params: str) -> list[str]:
        response = await desk.get(BASE, org.admin, **params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await listed(status="overdue") == [str(late.id)]
    assert await listed(status="done") == [str(done.id)]
    assert await listed(status="open") == [str(late.id), str(soon.id), str(later.id)]
    assert await listed(assignee=str(org.other_rep.id)) == [str(done.id)]
    before = iso(utc_now() + timedelta(days=1, hours=12))
    assert await listed(status="open", due_before=before) == [str(late.id), str(soon.id)]
    mine = await desk.get(BASE, org.rep, assignee="me")
    assert {a["id"] for a in mine.json()["items"]} == {str(soon.id), str(later.id), str(late.id)}
    overdue = await desk.get(f"{BASE}/{late.id}", org.rep)
    assert overdue.json()["overdue"] is True


async def test_bad_query_values_are_422(desk: Desk) -> None:
    for params in (
        {"status": "late"},
        {"assignee": "you"},
        {"due_before": "2026-01-01T00:00:00"},
        {"cursor": "not-a-cursor"},
        {"limit": "0"},
        {"cursor": "WyJ4IiwieSJd"},
    ):
        response = await desk.get(BASE, desk.org.rep, **params)
        assert response.status_code == 422, (params, response.text)


async def test_complete_by_the_assignee(desk: Desk) -> None:
    action = await desk.action()
    url = f"{BASE}/{action.id}/complete"
    response = await desk.post(url, desk.org.rep, {"note": "样品已送达"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and body["completed_at"] and body["overdue"] is False
    assert body["completion_note"] == "样品已送达"
    # A replay is fine; a different completion of a done action is a conflict.
    assert (await desk.post(url, desk.org.rep, {"note": "样品已送达"})).status_code == 200
    assert (await desk.post(url, desk.org.rep, {"note": "other"})).status_code == 409


async def test_complete_and_reschedule_by_others_are_forbidden(desk: Desk) -> None:
    org = desk.org
    action = await desk.action()
    await desk.leads_team(org.supervisor, org.rep)
    due = iso(utc_now() + timedelta(days=3))
    for actor in (org.supervisor, org.admin):
        done = await desk.post(f"{BASE}/{action.id}/complete", actor, {"note": ""})
        assert done.status_code == 403
        moved = await desk.post(
            f"{BASE}/{action.id}/reschedule", actor, {"due_at": due, "reason": "x"}
        )
        assert moved.status_code == 403
    assert (await desk.post(f"{BASE}/{action.id}/complete", org.other_rep, {})).status_code == 404


async def test_reschedule_needs_a_reason_and_is_counted(desk: Desk) -> None:
    action = await desk.action()
    url = f"{BASE}/{action.id}/reschedule"
    new_due = iso(utc_now() + timedelta(days=5))
    for body in ({"due_at": new_due}, {"due_at": new_due, "reason": "   "}):
        response = await desk.post(url, desk.org.rep, body)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    response = await desk.post(url, desk.org.rep, {"due_at": new_due, "reason": "客户出差"})
    assert response.status_code == 200, response.text
    assert response.json()["reschedule_count"] == 1
    assert response.json()["due_at"] == new_due
    # Replaying the same reschedule does not count twice.
    again = await desk.post(url, desk.org.rep, {"due_at": new_due, "reason": "客户出差"})
    assert again.json()["reschedule_count"] == 1
    third = iso(utc_now() + timedelta(days=6))
    moved = await desk.post(url, desk.org.rep, {"due_at": third, "reason": "门店装修"})
    assert moved.json()["reschedule_count"] == 2
    await desk.leads_team(desk.org.supervisor, desk.org.rep)
    detail = (await desk.get(f"{BASE}/{action.id}", desk.org.supervisor)).json()
    assert detail["reschedule_count"] == 2
    assert [r["reason"] for r in detail["reschedules"]] == ["客户出差", "门店装修"]
    assert detail["reschedules"][1]["old_due_at"] == new_due
    assert detail["reschedules"][1]["by_user_id"] == str(desk.org.rep.id)


async def test_reschedule_window_and_done_actions(desk: Desk) -> None:
    action = await desk.action()
    url = f"{BASE}/{action.id}/reschedule"
    for due in (utc_now() - timedelta(minutes=1), utc_now() + timedelta(days=7, minutes=1)):
        response = await desk.post(url, desk.org.rep, {"due_at": iso(due), "reason": "r"})
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "action_due_out_of_range"
        assert body["earliest"] and body["latest"]
    # An overdue action can still be moved: the window counts from now.
    await _move_due(desk, action.id, utc_now() - timedelta(days=2))
    ok = await desk.post(
        url, desk.org.rep, {"due_at": iso(utc_now() + timedelta(days=6)), "reason": "r"}
    )
    assert ok.status_code == 200
    await desk.post(f"{BASE}/{action.id}/complete", desk.org.rep, {})
    done = await desk.post(
        url, desk.org.rep, {"due_at": iso(utc_now() + timedelta(days=1)), "reason": "r"}
    )
    assert done.status_code == 409


async def test_fuzzed_bodies_are_4xx(desk: Desk) -> None:
    action = await desk.action()
    url = f"{BASE}/{action.id}/reschedule"
    bodies: list[object] = [
        {"due_at": "2026-13-40", "reason": "r"},
        {"due_at": iso(utc_now() + timedelta(days=1)), "reason": "a\x00b"},
        {"due_at": iso(utc_now() + timedelta(days=1)), "reason": "x" * 501},
        {"due_at": 2**63, "reason": "r"},
        {"due_at": iso(utc_now() + timedelta(days=1)), "reason": "r", "extra": 1},
        [],
    ]
    for body in bodies:
        response = await desk.client.post(url, json=body, headers=desk.org.rep.headers)
        assert response.status_code == 422, (body, response.text)
    note = await desk.post(f"{BASE}/{action.id}/complete", desk.org.rep, {"note": "\x07"})
    assert note.status_code == 422
    assert (await desk.get(f"{BASE}/not-a-uuid", desk.org.rep)).status_code == 422
    assert (await desk.get(f"{BASE}/{uuid.uuid4()}", desk.org.rep)).status_code == 404
