import uuid
from typing import Any

import httpx
import pytest

from tests.factories.forms import fill_form
from tests.factories.images import encode, synthetic_photo
from tests.factories.stores import create_team
from tests.factories.visits import (
    Field,
    complete,
    next_action,
    photo_set,
    rep_put,
    start,
    submit,
)
from tests.factories.world import World


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    return photo_set(70, (640, 480))


async def make_team(field: Field) -> None:
    await create_team(field.client, field.org, f"杭州{uuid.uuid4().hex[:4]}组")


async def submitted_visit(field: Field, photos: dict[str, bytes]) -> dict[str, Any]:
    visit = await start(field)
    await complete(field, visit, photos)
    response = await submit(field, visit["id"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def review(
    field: Field, visit_id: str, action: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await field.client.post(
        f"/api/v1/visits/{visit_id}/{action}", json=body, headers=headers
    )


async def test_who_may_review(field: Field, world: World, photos: dict[str, bytes]) -> None:
    await make_team(field)
    visit = await submitted_visit(field, photos)
    other_team_supervisor = field.org.supervisor  # leads the team; make another supervisor
    response = await field.client.post(
        "/api/v1/users",
        json={
            "username": f"sup-{uuid.uuid4().hex[:6]}",
            "display_name": "赵主管",
            "role": "supervisor",
            "password": "correct-horse-battery",
        },
        headers=field.org.admin.headers,
    )
    stranger = await world.actor(
        uuid.UUID(response.json()["id"]),
        field.org.id,
        response.json()["username"],
        other_team_supervisor.role,
    )
    foreign = await world.org()
    assert (await review(field, visit["id"], "approve", {}, stranger.headers)).status_code == 404
    assert (
        await review(field, visit["id"], "approve", {}, foreign.admin.headers)
    ).status_code == 404
    assert (
        await review(field, visit["id"], "approve", {}, field.org.rep.headers)
    ).status_code == 403
    no_reason = await review(
        field, visit["id"], "reject", {"reason": "  "}, field.org.supervisor.headers
    )
    assert no_reason.status_code == 422
    missing = await review(field, visit["id"], "reject", {}, field.org.supervisor.headers)
    assert missing.status_code == 422
    assert (
        await review(field, visit["id"], "approve", {}, field.org.admin.headers)
    ).status_code == 200


async def test_reject_amend_resubmit_approve_keeps_the_check_in_lock(
    field: Field, photos: dict[str, bytes]
) -> None:
    await make_team(field)
    visit = await submitted_visit(field, photos)
    lock = visit["check_in"], visit["checked_in_at"], visit["checked_out_at"]

    rejected = await review(
        field, visit["id"], "reject", {"reason": "陈列照看不清价签"}, field.org.supervisor.headers
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    inbox = await field.client.get("/api/v1/notifications", headers=field.org.rep.headers)
    assert any(n["type"] == "visit.rejected" for n in inbox.json()["items"])

    fresh_shelf = encode(synthetic_photo(99, (640, 480)), "JPEG", quality=80)
    amended = await rep_put(
        field,
        f"/api/v1/visits/{visit['id']}/photos/shelf",
        files={"file": ("shelf.jpg", fresh_shelf, "image/jpeg")},
    )
    assert amended.status_code == 201
    answers = fill_form(visit["form"]["fields"])
    assert (
        await rep_put(field, f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers})
    ).status_code == 200
    assert (
        await rep_put(
            field,
            f"/api/v1/visits/{visit['id']}/next-action",
            json=next_action(visit["checked_in_at"]),
        )
    ).status_code == 201

    resubmitted = await submit(field, visit["id"])
    assert resubmitted.status_code == 200
    assert resubmitted.json()["status"] == "submitted"
    assert resubmitted.json()["submit_count"] == 2

    queue = await field.client.get("/api/v1/review-queue", headers=field.org.supervisor.headers)
    assert [v["id"] for v in queue.json()["items"]] == [visit["id"]]

    approved = await review(
        field, visit["id"], "approve", {"comment": "很好"}, field.org.supervisor.headers
    )
    assert approved.status_code == 200
    final = approved.json()
    assert final["status"] == "approved"
    assert [r["decision"] for r in final["reviews"]] == ["rejected", "approved"]
    assert (final["check_in"], final["checked_in_at"], final["checked_out_at"]) == lock

    # An approved visit is immutable.
    for response in (
        await rep_put(field, f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers}),
        await rep_put(
            field,
            f"/api/v1/visits/{visit['id']}/photos/shelf",
            files={"file": ("x.jpg", photos["storefront"], "image/jpeg")},
        ),
        await submit(field, visit["id"]),
    ):
        assert response.status_code == 409, response.text
    again = await review(field, visit["id"], "approve", {}, field.org.supervisor.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "visit_not_submitted"


async def test_review_queue_is_oldest_first_and_filterable(
    field: Field, photos: dict[str, bytes]
) -> None:
    await make_team(field)
    first = await submitted_visit(field, photos)
    second = await submitted_visit(field, photos)
    queue = await field.client.get("/api/v1/review-queue", headers=field.org.supervisor.headers)
    ids = [v["id"] for v in queue.json()["items"]]
    assert ids == [first["id"], second["id"]]
    flagged = await field.client.get(
        "/api/v1/review-queue?flagged=true", headers=field.org.supervisor.headers
    )
    assert {v["id"] for v in flagged.json()["items"]} == set(ids)  # short_visit flags both
    by_other_rep = await field.client.get(
        f"/api/v1/review-queue?rep_id={field.org.other_rep.id}",
        headers=field.org.supervisor.headers,
    )
    assert by_other_rep.json()["items"] == []
    assert (
        await field.client.get("/api/v1/review-queue", headers=field.org.rep.headers)
    ).status_code == 403
