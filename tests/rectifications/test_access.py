"""Who sees a rectification and who may move it: the assignee fixes and submits; a supervisor
of the store's team, the auditor who raised it (a supervisor) or an admin verifies and reopens;
another org's users never learn it exists."""

import uuid
from typing import Any

import pytest

from backend.models import Rectification
from tests.factories.audits import Tour, photo_bytes
from tests.factories.world import Actor

BASE = "/api/v1/rectifications"


async def _submitted(tour: Tour, rect: Rectification, store: dict[str, Any], seed: int) -> None:
    visit = await tour.check_in(store)
    put = await tour.put_after_photo(rect.id, photo_bytes(seed))
    assert put.status_code == 201, put.text
    done = await tour.post(f"{BASE}/{rect.id}/submit", tour.org.rep, {"note": "好了"})
    assert done.status_code == 200, done.text
    ended = await tour.field.abandon(visit["id"], "整改完成")
    assert ended.status_code == 200, ended.text


async def _strangers(tour: Tour) -> list[Actor]:
    other = await tour.world.org()
    return [other.admin, other.supervisor, other.rep]


def _codes(responses: dict[str, Any]) -> dict[str, int]:
    return {name: r.status_code for name, r in responses.items()}


async def test_at_a_store_of_the_auditors_team(tour: Tour) -> None:
    org = tour.org
    rect = (await tour.raise_at()).first
    seen = {
        "rep": org.rep,
        "other_rep": org.other_rep,
        "supervisor": org.supervisor,
        "other_supervisor": tour.other_supervisor,
        "admin": org.admin,
    }
    got = {name: await tour.get(f"{BASE}/{rect.id}", actor) for name, actor in seen.items()}
    assert _codes(got) == {
        "rep": 200,
        "other_rep": 404,
        "supervisor": 200,
        "other_supervisor": 404,
        "admin": 200,
    }
    for stranger in await _strangers(tour):
        response = await tour.get(f"{BASE}/{rect.id}", stranger)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        photo = await tour.get(f"{BASE}/{rect.id}/before-photo", stranger)
        assert photo.status_code == 404
        verify = await tour.post(f"{BASE}/{rect.id}/verify", stranger, {})
        assert verify.status_code == 404

    # Submitting is the assignee's alone.
    for actor in (org.supervisor, org.admin):
        response = await tour.post(f"{BASE}/{rect.id}/submit", actor, {})
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert (await tour.post(f"{BASE}/{rect.id}/submit", org.other_rep, {})).status_code == 404

    await _submitted(tour, rect, tour.store, 1)
    judged = {
        name: await tour.post(f"{BASE}/{rect.id}/reopen", actor, {"reason": "不合格"})
        for name, actor in seen.items()
        if name != "supervisor" and name != "admin"
    }
    assert _codes(judged) == {"rep": 403, "other_rep": 404, "other_supervisor": 404}
    ok = await tour.post(f"{BASE}/{rect.id}/verify", org.supervisor, {"comment": "好"})
    assert ok.status_code == 200 and ok.json()["status"] == "verified"


@pytest.mark.parametrize("judge", ["admin", "supervisor_of_store_team"])
async def test_an_admin_or_the_stores_supervisor_judges(tour: Tour, judge: str) -> None:
    """At team B's store, assigned to team A's rep, raised by team B's supervisor."""
    org = tour.org
    rect = (
        await tour.raise_at(tour.other_store, auditor=tour.other_supervisor, assignee=org.rep)
    ).first
    # Team A's supervisor sees the task of their rep, but judges nothing at B's store.
    seen = await tour.get(f"{BASE}/{rect.id}", org.supervisor)
    assert seen.status_code == 200, seen.text
    await _submitted(tour, rect, tour.other_store, 2)
    refused = await tour.post(f"{BASE}/{rect.id}/verify", org.supervisor, {})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    actor = org.admin if judge == "admin" else tour.other_supervisor
    response = await tour.post(f"{BASE}/{rect.id}/reopen", actor, {"reason": "没改好"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "reopened"
    assert response.json()["history"][-1]["by"]["id"] == str(actor.id)


async def test_the_auditor_who_raised_it_judges_at_another_teams_store(tour: Tour) -> None:
    """Team A's supervisor audits team B's store and raises a task for team B's rep."""
    org = tour.org
    rect = (
        await tour.raise_at(tour.other_store, auditor=org.supervisor, assignee=org.other_rep)
    ).first
    for actor in (org.supervisor, tour.other_supervisor, org.other_rep, org.admin):
        assert (await tour.get(f"{BASE}/{rect.id}", actor)).status_code == 200
    assert (await tour.get(f"{BASE}/{rect.id}", org.rep)).status_code == 404

    visit = await tour.check_in(tour.other_store, org.other_rep)
    put = await tour.put_after_photo(rect.id, photo_bytes(3), org.other_rep)
    assert put.status_code == 201, put.text
    assert put.json()["visit_id"] == visit["id"]
    done = await tour.post(f"{BASE}/{rect.id}/submit", org.other_rep, {})
    assert done.status_code == 200, done.text
    verified = await tour.post(f"{BASE}/{rect.id}/verify", org.supervisor, {"comment": "可以"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["history"][-1]["reason"] == "可以"


async def test_unknown_ids_are_404(tour: Tour) -> None:
    missing = uuid.uuid4()
    for path in ("", "/before-photo", "/after-photo"):
        response = await tour.get(f"{BASE}/{missing}{path}", tour.org.admin)
        assert response.status_code == 404, path
    rect = (await tour.raise_at(with_photos=False)).first
    body = (await tour.get(f"{BASE}/{rect.id}", tour.org.rep)).json()
    assert body["before_photo_url"] is None and body["after_photo_url"] is None
    assert (await tour.get(f"{BASE}/{rect.id}/before-photo", tour.org.rep)).status_code == 404
    assert (await tour.get(f"{BASE}/{rect.id}/after-photo", tour.org.rep)).status_code == 404
