"""A rectification's life: the after photo at the door, submit, reopen, a new photo, verify."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db import session_scope
from backend.models import Event, Notification, Rectification
from backend.rectifications import service
from tests.factories.audits import Tour, photo_bytes, standard_checklist

BASE = "/api/v1/rectifications"


async def _events(tour: Tour, rect_id: uuid.UUID) -> list[str]:
    async with session_scope(tour.sessionmaker) as session:
        rows = await session.scalars(
            select(Event.type).where(Event.subject_id == rect_id).order_by(Event.occurred_at)
        )
        return list(rows)


async def _notified(tour: Tour, rect_id: uuid.UUID, type: str) -> list[Notification]:
    async with session_scope(tour.sessionmaker) as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.subject_id == rect_id, Notification.type == type)
            .order_by(Notification.created_at)
        )
        return list(rows)


async def test_no_open_visit_is_not_at_store(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    response = await tour.put_after_photo(rect.id, photo_bytes(1))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "not_at_store"
    assert body["open_visit_store_id"] is None
    assert body["store_id"] == tour.store["id"]
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_open_visit_at_another_store_is_not_at_store(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    await tour.check_in(tour.other_store)
    response = await tour.put_after_photo(rect.id, photo_bytes(1))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "not_at_store"
    assert body["open_visit_store_id"] == tour.other_store["id"]


async def test_an_abandoned_visit_at_the_store_does_not_count(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    visit = await tour.check_in(tour.store)
    abandoned = await tour.field.abandon(visit["id"], "客户不在")
    assert abandoned.status_code == 200, abandoned.text
    response = await tour.put_after_photo(rect.id, photo_bytes(1))
    assert response.status_code == 409 and response.json()["code"] == "not_at_store"


async def test_the_after_photo_during_a_visit_at_the_store(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    visit = await tour.check_in(tour.store)
    data = photo_bytes(7)
    response = await tour.put_after_photo(rect.id, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["visit_id"] == visit["id"]
    assert body["status"] == "open"  # a photo is not yet a submit
    assert body["after_photo_url"] == f"{BASE}/{rect.id}/after-photo"
    photo = body["after_photo"]
    assert set(photo) >= {"sha256", "width", "height", "bytes", "url", "flags"}
    assert photo["flags"] == [] and photo["current"] is True
    assert max(photo["width"], photo["height"]) <= 1600

    # The same bytes again (an offline replay): 200, nothing new.
    replay = await tour.put_after_photo(rect.id, data)
    assert replay.status_code == 200, replay.text
    assert replay.json()["after_photo"]["sha256"] == photo["sha256"]
    assert (await _events(tour, rect.id)).count("rectification.photo_added") == 1

    image = await tour.client.get(body["after_photo_url"], headers=tour.org.supervisor.headers)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["etag"] == f'"{photo["sha256"]}"'
    thumb = await tour.client.get(
        f"{body['after_photo_url']}?thumb=1", headers=tour.org.supervisor.headers
    )
    assert thumb.status_code == 200 and len(thumb.content) < len(image.content)
    assert thumb.headers["etag"] != image.headers["etag"]
    before = await tour.client.get(body["before_photo_url"], headers=tour.org.rep.headers)
    assert before.status_code == 200 and before.content != image.content

    async with session_scope(tour.sessionmaker) as session:
        fixed = await service.fixed_during_visit(session, tour.org.id, uuid.UUID(visit["id"]))
    assert [r.id for r in fixed] == [rect.id]


async def test_an_after_photo_that_repeats_the_before_photo_is_flagged(tour: Tour) -> None:
    raised = await tour.raise_at(photo_seed=42)
    rect = raised.first
    await tour.check_in(tour.store)
    response = await tour.put_after_photo(rect.id, photo_bytes(42))  # the before photo's bytes
    assert response.status_code == 201, response.text
    (flag,) = response.json()["after_photo"]["flags"]
    assert flag["code"] == "duplicate_photo"
    assert flag["repeats"] == "before_photo"
    assert flag["other_photo_id"] == str(raised.before_photos[rect.item_key].id)
    assert "整改前照片" in flag["detail"]["zh"] and "before photo" in flag["detail"]["en"]


async def test_an_after_photo_that_repeats_another_photo_is_flagged_as_for_visits(
    tour: Tour,
) -> None:
    first = (await tour.raise_at(photo_seed=50)).first
    second = (await tour.raise_at(photo_seed=60)).first
    await tour.check_in(tour.store)
    ok = await tour.put_after_photo(first.id, photo_bytes(70))
    assert ok.status_code == 201 and ok.json()["after_photo"]["flags"] == []
    response = await tour.put_after_photo(second.id, photo_bytes(70))
    assert response.status_code == 201, response.text
    (flag,) = response.json()["after_photo"]["flags"]
    assert flag["code"] == "duplicate_photo" and "repeats" not in flag
    assert flag["other_rectification_id"] == str(first.id)


async def test_only_the_assignee_takes_the_after_photo(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    await tour.check_in(tour.store, tour.org.other_rep)
    for actor in (tour.org.supervisor, tour.org.admin):
        response = await tour.put_after_photo(rect.id, photo_bytes(1), actor)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    # A rep who cannot see it: 404, not 403.
    response = await tour.put_after_photo(rect.id, photo_bytes(1), tour.org.other_rep)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_submit_without_an_after_photo_is_incomplete(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    response = await tour.post(f"{BASE}/{rect.id}/submit", tour.org.rep, {"note": "已整改"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "rectification_incomplete" and body["missing"] == ["after_photo"]


async def test_reopen_needs_a_reason(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}):
        response = await tour.post(f"{BASE}/{rect.id}/reopen", tour.org.supervisor, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["pointer"] == "/reason"


async def _fix(tour: Tour, rect_id: uuid.UUID, seed: int, note: str) -> dict[str, Any]:
    put = await tour.put_after_photo(rect_id, photo_bytes(seed))
    assert put.status_code == 201, put.text
    submitted = await tour.post(f"{BASE}/{rect_id}/submit", tour.org.rep, {"note": note})
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_the_whole_way_round(tour: Tour) -> None:
    rect = (await tour.raise_at(due_in=timedelta(days=1))).first
    visit = await tour.check_in(tour.store)
    org = tour.org

    submitted = await _fix(tour, rect.id, 11, "价签已更换")
    assert submitted["status"] == "submitted" and submitted["submit_note"] == "价签已更换"
    # Replaying the submit: unchanged; another note is a conflict.
    again = await tour.post(f"{BASE}/{rect.id}/submit", org.rep, {"note": "价签已更换"})
    assert again.status_code == 200 and len(again.json()["history"]) == 2
    other = await tour.post(f"{BASE}/{rect.id}/submit", org.rep, {"note": "别的"})
    assert other.status_code == 409 and other.json()["code"] == "rectification_not_open"
    # A photo of a submitted task: refused (it is not waiting for a fix).
    late = await tour.put_after_photo(rect.id, photo_bytes(12))
    assert late.status_code == 409 and late.json()["code"] == "rectification_not_open"
    (told,) = await _notified(tour, rect.id, "rectification.submitted")
    assert told.user_id == org.supervisor.id  # the auditor and the team's supervisor: one person

    reopened = await tour.post(f"{BASE}/{rect.id}/reopen", org.supervisor, {"reason": "价签仍歪"})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "reopened" and body["overdue"] is False
    # Due in a day, not critical: handed back with three days from now.
    due = _at(body["due_at"])
    assert due - _at(body["reopened_at"]) == timedelta(days=3)
    assert body["after_photo"]["current"] is False
    (back,) = await _notified(tour, rect.id, "rectification.reopened")
    assert back.user_id == org.rep.id and "价签仍歪" in back.body["zh"]
    assert "价签仍歪" in back.body["en"]
    # The same reopen again: no second step.
    replay = await tour.post(f"{BASE}/{rect.id}/reopen", org.supervisor, {"reason": "价签仍歪"})
    assert replay.status_code == 200 and len(replay.json()["history"]) == 3

    # The old photo no longer counts.
    stale = await tour.post(f"{BASE}/{rect.id}/submit", org.rep, {"note": "已整改"})
    assert stale.status_code == 422 and stale.json()["missing"] == ["after_photo"]
    resubmitted = await _fix(tour, rect.id, 13, "重新贴好")
    assert resubmitted["status"] == "submitted" and resubmitted["visit_id"] == visit["id"]

    verified = await tour.post(f"{BASE}/{rect.id}/verify", org.supervisor, {"comment": "合格"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified" and verified.json()["verified_at"]
    again_v = await tour.post(f"{BASE}/{rect.id}/verify", org.supervisor, {"comment": "合格"})
    assert again_v.status_code == 200
    (done,) = await _notified(tour, rect.id, "rectification.verified")
    assert done.user_id == org.rep.id

    history = again_v.json()["history"]
    assert [h["status"] for h in history] == [
        "open",
        "submitted",
        "reopened",
        "submitted",
        "verified",
    ]
    assert [h["by"]["id"] for h in history] == [
        str(org.supervisor.id),
        str(org.rep.id),
        str(org.supervisor.id),
        str(org.rep.id),
        str(org.supervisor.id),
    ]
    assert [h["reason"] for h in history] == [None, "价签已更换", "价签仍歪", "重新贴好", "合格"]
    times = [_at(h["at"]) for h in history]
    assert times == sorted(times)
    assert await _events(tour, rect.id) == [
        "rectification.created",
        "rectification.photo_added",
        "rectification.submitted",
        "rectification.reopened",
        "rectification.photo_added",
        "rectification.submitted",
        "rectification.verified",
    ]
    # Verified is final: no reopen, no verify of something else.
    final = await tour.post(f"{BASE}/{rect.id}/reopen", org.supervisor, {"reason": "再看看"})
    assert final.status_code == 409 and final.json()["code"] == "rectification_not_submitted"


async def test_reopen_keeps_a_later_due_time_and_gives_critical_items_two_days(
    tour: Tour,
) -> None:
    org = tour.org
    async with session_scope(tour.sessionmaker) as session:
        items = (await standard_checklist(session, tour.org.id)).items
    critical_key = next(i["key"] for i in items if i.get("critical", False))
    far = (await tour.raise_at(due_in=timedelta(days=10))).first
    critical = (await tour.raise_at(items=[critical_key], due_in=timedelta(hours=5))).first
    await tour.check_in(tour.store)
    for i, rect in enumerate((far, critical)):
        await _fix(tour, rect.id, 20 + i, "好了")
    kept = await tour.post(f"{BASE}/{far.id}/reopen", org.supervisor, {"reason": "不行"})
    assert _at(kept.json()["due_at"]) == far.due_at
    short = await tour.post(f"{BASE}/{critical.id}/reopen", org.supervisor, {"reason": "不行"})
    body = short.json()
    assert body["critical"] is True
    assert _at(body["due_at"]) - _at(body["reopened_at"]) == timedelta(days=2)


async def test_verify_and_reopen_only_judge_a_submitted_fix(tour: Tour) -> None:
    rect = (await tour.raise_at()).first
    for action, body in (("verify", {}), ("reopen", {"reason": "不行"})):
        response = await tour.post(f"{BASE}/{rect.id}/{action}", tour.org.supervisor, body)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "rectification_not_submitted"
        assert response.json()["rectification_status"] == "open"


async def test_a_replayed_audit_submit_raises_nothing_twice(tour: Tour) -> None:
    raised = await tour.raise_at()
    rect = raised.first
    async with session_scope(tour.sessionmaker) as session:
        audit = raised.audit
        items = [
            service.RaisedItem(
                item_key=rect.item_key,
                title=rect.title,
                critical=rect.critical,
                assignee_id=rect.assignee_id,
                due_at=rect.due_at,
                note=rect.note,
            )
        ]
        again = await service.raise_for_audit(session, audit, items, rect.created_at)
        count = await session.scalar(select(func.count()).select_from(Rectification))
    assert [r.id for r in again] == [rect.id]
    assert rect.id == service.rectification_id(audit.id, rect.item_key)
    assert count == 1
    assert await _events(tour, rect.id) == ["rectification.created"]
    (created,) = await _notified(tour, rect.id, "rectification.created")
    assert created.user_id == tour.org.rep.id
    assert created.title["zh"].startswith("新的整改任务") and created.title["en"]
