"""Audit tours over the API on a real database: the door shared with check-in, the version pin,
results, submit (score, rectifications, everything missing at once), replay and refusals."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.audits import scoring
from backend.audits.checklist import checklist_from_stored
from tests.factories.audit_tours import Tour, failing, passing, results_for, tour
from tests.factories.visits import Field, north
from tests.factories.world import World


@pytest.fixture
async def field(client: httpx.AsyncClient, world: World) -> Tour:
    return await tour(client, await world.org())


def _parsed(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


async def test_a_new_org_has_the_bilingual_standard_template(field: Tour) -> None:
    response = await field.client.get(
        "/api/v1/audit-templates", headers=field.org.supervisor.headers
    )
    assert response.status_code == 200, response.text
    (standard,) = [t for t in response.json() if t["key"] == "standard"]
    assert standard["name"] == "门店标准巡检"
    items = standard["checklist"]["items"]
    assert 10 <= len(items) <= 14
    sections = list(dict.fromkeys(i["section"]["zh"] for i in items))
    assert sections == ["门头与环境", "陈列", "价格与促销", "库存"]
    assert all(i["label"]["zh"] and i["label"]["en"] for i in items)
    assert {i["kind"] for i in items} == {"check", "scale", "number"}
    assert any(i["critical"] for i in items)


async def test_start_refuses_and_flags_exactly_as_a_check_in(
    client: httpx.AsyncClient, field: Tour
) -> None:
    """The same door: a check-in by the rep and an audit start by the supervisor, with the same
    bad code and the same position outside the fence, get the same error bodies."""
    visits = Field(client, field.org)
    forged = field.store["qr_url"][:-4] + "AAAA"
    far = north(600, field.store["lat"])
    for change in ({"qr": forged}, {"position_lat": far}):
        audit_body = field.body()
        visit_body = visits.check_in_body(field.store)
        for body in (audit_body, visit_body):
            if "qr" in change:
                body["qr"] = change["qr"]
            else:
                body["position"]["lat"] = change["position_lat"]
        audit = await field.start(audit_body)
        visit = await visits.check_in(visit_body)
        assert audit.status_code == visit.status_code == 422
        assert audit.headers["content-type"] == "application/problem+json"
        assert audit.json() == visit.json()
    # Queued offline outside the fence: accepted and flagged, as a visit would be.
    offline = field.body(lat=far, queued_offline=True)
    response = await field.start(offline)
    assert response.status_code == 201, response.text
    codes = {f["code"] for f in response.json()["trust"]["flags"]}
    assert {"outside_geofence", "queued_offline"} <= codes
    assert response.json()["trust"]["score"] < 100


async def test_start_corrects_the_phone_clock(field: Tour) -> None:
    now = datetime.now().astimezone()
    slow = now - timedelta(minutes=20)
    response = await field.start(field.body(device_time=slow, captured_at=slow))
    assert response.status_code == 201, response.text
    audit = response.json()
    assert abs(_parsed(audit["started_at"]) - now) < timedelta(seconds=30)
    assert audit["check_in"]["clock_offset_s"] == pytest.approx(1200, abs=30)
    assert "clock_skew" in {f["code"] for f in audit["trust"]["flags"]}


async def test_who_may_start_an_audit(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    field = await tour(client, org)
    assert (await field.start(actor=org.rep)).status_code == 403
    # A store of another team (led by nobody this supervisor is): refused.
    other = Tour(client, org, await _store_without_team(client, org), field.team)
    response = await field.start(other.body())
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert (await field.start(actor=org.admin)).status_code == 201


async def _store_without_team(client: httpx.AsyncClient, org: Any) -> dict[str, Any]:
    from tests.factories.stores import create_store

    return await create_store(client, org.admin.headers)


async def test_one_open_audit_replays_and_conflicts(field: Tour) -> None:
    body = field.body()
    first = await field.start(body)
    assert first.status_code == 201, first.text
    # The phone retries after hours offline: a fresh device_time and marked queued.
    retry = {**body, "device_time": field.body()["device_time"], "queued_offline": True}
    replay = await field.start(retry)
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["started_at"] == first.json()["started_at"]
    moved = {**body, "position": {**body["position"], "lat": body["position"]["lat"] + 0.0001}}
    conflict = await field.start(moved)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    another = await field.start(field.body())
    assert another.status_code == 409
    assert another.json()["code"] == "audit_already_open"
    assert another.json()["audit_id"] == first.json()["id"]


async def test_an_audit_keeps_its_checklist_version(
    field: Tour, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    audit = await field.started()
    assert audit["template"]["version"] == 1
    items = audit["template"]["items"]
    changed = [{**item} for item in items[:-1]]
    for item in changed:
        for key in [k for k, v in item.items() if v is None]:
            del item[key]
    published = await field.client.put(
        "/api/v1/audit-templates/standard/checklist",
        json={"items": changed},
        headers=field.org.admin.headers,
    )
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 2
    again = await field.client.get(
        f"/api/v1/audits/{audit['id']}", headers=field.org.supervisor.headers
    )
    assert again.json()["template"]["version"] == 1
    assert len(again.json()["template"]["items"]) == len(items)
    # The database itself keeps the pin: no update moves it, no delete removes the version.
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError):
            await session.execute(
                text("UPDATE audits SET template_version = 2 WHERE id = :id"), {"id": audit["id"]}
            )
        await session.rollback()
        with pytest.raises(DBAPIError):
            await session.execute(
                text(
                    "DELETE FROM audit_checklists WHERE template_key = 'standard' AND version = 1"
                    " AND org_id = :org"
                ),
                {"org": str(field.org.id)},
            )
        await session.rollback()
    # A new audit pins the new version.
    await field.client.post(
        f"/api/v1/audits/{audit['id']}/abandon", json={"reason": "test"},
        headers=field.org.supervisor.headers,
    )  # fmt: skip
    assert (await field.started())["template"]["version"] == 2


async def test_bad_results_are_listed_at_once_and_nothing_changes(field: Tour) -> None:
    audit = await field.started()
    items = {i["key"]: i for i in audit["template"]["items"]}
    check = next(k for k, i in items.items() if i["kind"] == "check")
    scale = next(k for k, i in items.items() if i["kind"] == "scale")
    number = next(k for k, i in items.items() if i["kind"] == "number")
    good = await field.results(audit["id"], {check: {"result": "pass", "note": "ok"}})
    assert good.status_code == 200, good.text
    bad = await field.results(
        audit["id"],
        {
            check: {"result": "maybe"},
            scale: {"value": items[scale]["scale_max"] + 1},
            number: {"value": "many"},
            "no_such_item": {"result": "pass"},
        },
    )
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "invalid_audit"
    pointers = {e["pointer"] for e in body["errors"]}
    assert f"/results/{check}/result" in pointers
    assert f"/results/{scale}/value" in pointers
    assert f"/results/{number}/value" in pointers
    assert "/results/no_such_item" in pointers
    stored = await field.client.get(
        f"/api/v1/audits/{audit['id']}", headers=field.org.supervisor.headers
    )
    assert stored.json()["results"][check]["result"] == "pass"
    assert stored.json()["results"][check]["note"] == "ok"
    assert set(stored.json()["results"]) == {check}


async def test_submit_lists_everything_missing_at_once(field: Tour) -> None:
    audit = await field.started()
    items = audit["template"]["items"]
    required = [i["key"] for i in items if i["photo"] == "required"]
    critical = next(i for i in items if i["critical"] and i["kind"] == "check")
    answered = results_for(items[:3])
    answered[critical["key"]] = failing(critical)
    response = await field.results(audit["id"], answered)
    assert response.status_code == 200, response.text
    response = await field.submit(audit["id"])
    assert response.status_code == 422
    missing = response.json()["missing"]
    assert response.json()["code"] == "audit_incomplete"
    for item in items:
        if item["key"] not in answered:
            assert f"item:{item['key']}" in missing
    for key in required:
        assert f"photo:{key}" in missing
    if critical["photo"] == "on_fail":
        assert f"photo:{critical['key']}" in missing
    # Nobody visited the store in the last 30 days: the failed item has no assignee.
    assert f"assignee:{critical['key']}" in missing


async def test_submit_scores_and_raises_one_rectification_per_failed_item(
    client: httpx.AsyncClient, field: Tour
) -> None:
    # The rep visited the store: they are the default assignee.
    visits = Field(client, field.org)
    visit = await visits.check_in(visits.check_in_body(field.store))
    assert visit.status_code == 201, visit.text
    await visits.abandon(visit.json()["id"], "done")

    audit = await field.started()
    items = audit["template"]["items"]
    critical = next(i["key"] for i in items if i["critical"])
    plain = next(i["key"] for i in items if not i["critical"] and i["kind"] == "check")
    await field.complete(audit, fail={critical, plain})
    response = await field.submit(
        audit["id"],
        {"rectifications": [{"item_key": plain, "assignee_id": str(field.org.other_rep.id),
                             "note": "换新价签"}]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    submitted = response.json()
    assert submitted["status"] == "submitted"
    checklist = checklist_from_stored("standard", 1, [
        {k: v for k, v in i.items() if v is not None} for i in items
    ])  # fmt: skip
    stored_results = {k: {"result": v.get("result"), "value": v.get("value"), "note": None}
                      for k, v in results_for(items, {critical, plain}).items()}  # fmt: skip
    expected = scoring.score(checklist, stored_results)
    assert submitted["score"]["percent"] == expected.percent
    assert submitted["score"]["band"] == expected.band
    assert submitted["score"]["failed_critical"] == [critical]
    assert submitted["passed"] is False  # a critical item failed
    by_item = {r["item_key"]: r for r in submitted["rectifications"]}
    assert set(by_item) == {critical, plain}
    now = _parsed(submitted["server_time"])
    assert by_item[critical]["assignee"]["id"] == str(field.org.rep.id)
    assert by_item[plain]["assignee"]["id"] == str(field.org.other_rep.id)
    assert abs(_parsed(by_item[critical]["due_at"]) - (now + timedelta(days=2))) < timedelta(
        minutes=1
    )
    assert abs(_parsed(by_item[plain]["due_at"]) - (now + timedelta(days=7))) < timedelta(minutes=1)
    assert by_item[plain]["note"] == "换新价签"
    # The failed item's audit photo is the rectification's before photo.
    before = await client.get(by_item[critical]["before_photo_url"], headers=field.org.rep.headers)
    assert before.status_code == 200
    assert before.headers["content-type"] == "image/jpeg"
    # A replay of the same submit answers with the same audit and makes nothing new.
    replay = await field.submit(
        audit["id"],
        {"rectifications": [{"item_key": plain, "assignee_id": str(field.org.other_rep.id),
                             "note": "换新价签"}]},
    )  # fmt: skip
    assert replay.status_code == 200
    assert {r["id"] for r in replay.json()["rectifications"]} == {
        r["id"] for r in submitted["rectifications"]
    }
    # The next audit of the store points back at this one.
    following = await field.started()
    assert following["previous"]["id"] == audit["id"]
    assert following["previous"]["percent"] == expected.percent


async def test_submit_refuses_a_bad_choice_with_pointers(field: Tour) -> None:
    audit = await field.started()
    items = audit["template"]["items"]
    fail = next(i["key"] for i in items if i["kind"] == "check" and i["photo"] != "on_fail")
    ok = next(i["key"] for i in items if i["key"] != fail)
    await field.complete(audit, fail={fail})
    too_late = (datetime.now().astimezone() + timedelta(days=15)).isoformat()
    response = await field.submit(
        audit["id"],
        {"rectifications": [
            {"item_key": fail, "assignee_id": str(field.org.supervisor.id), "due_at": too_late},
            {"item_key": ok},
        ]},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert "/rectifications/1/item_key" in pointers
    still = await field.client.get(
        f"/api/v1/audits/{audit['id']}", headers=field.org.supervisor.headers
    )
    assert still.json()["status"] == "open"


async def test_a_passing_audit_is_green_with_no_rectifications(field: Tour) -> None:
    audit = await field.started()
    await field.complete(audit)
    response = await field.submit(audit["id"])
    assert response.status_code == 200, response.text
    assert response.json()["score"]["percent"] == 100.0
    assert response.json()["score"]["band"] == "green"
    assert response.json()["passed"] is True
    assert response.json()["rectifications"] == []
    # Submitted: nothing more changes.
    item = audit["template"]["items"][0]
    late = await field.results(audit["id"], {item["key"]: failing(item)})
    assert late.status_code == 409
    assert late.json()["code"] == "audit_not_open"
    assert (await field.results(audit["id"], {item["key"]: passing(item)})).status_code in (
        200,
        409,
    )


async def test_abandon_and_list(field: Tour) -> None:
    audit = await field.started()
    response = await field.client.post(
        f"/api/v1/audits/{audit['id']}/abandon", json={"reason": "店铺停业"},
        headers=field.org.supervisor.headers,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["status"] == "abandoned"
    listed = await field.client.get(
        f"/api/v1/audits?store_id={field.store['id']}", headers=field.org.supervisor.headers
    )
    assert [a["id"] for a in listed.json()["items"]] == [audit["id"]]
    assert (
        await field.client.get("/api/v1/audits", headers=field.org.rep.headers)
    ).status_code == 403
    other_org = await field.client.get(
        f"/api/v1/audits/{audit['id']}", headers=field.org.rep.headers
    )
    assert other_org.status_code == 403
    assert (await field.start()).status_code == 201  # free to start again
    _ = uuid


async def test_a_clock_out_of_any_calendar_is_refused_at_both_doors(
    client: httpx.AsyncClient, field: Tour
) -> None:
    """A phone clock in year 1 would move the capture out of the calendar: 422, never a 500,
    for a check-in as for an audit start."""
    visits = Field(client, field.org)
    for body, send in (
        (field.body(), field.start),
        (visits.check_in_body(field.store), visits.check_in),
    ):
        body["device_time"] = "0001-01-02T00:00:00Z"
        body["position"]["captured_at"] = "9999-12-31T00:00:00Z"
        response = await send(body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["pointer"] == "/position/captured_at"
