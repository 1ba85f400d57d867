import io
import uuid
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import Event, Visit
from tests.factories.forms import fill_form
from tests.factories.visits import (
    KINDS,
    Field,
    add_photos,
    complete,
    next_action,
    photo_set,
    rep_put,
    start,
    submit,
)


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    return photo_set(40, (800, 600))


async def test_submit_lists_everything_missing_at_once(
    field: Field, photos: dict[str, bytes]
) -> None:
    visit = await start(field)
    response = await submit(field, visit["id"])
    assert response.status_code == 422
    assert response.json()["code"] == "visit_incomplete"
    assert response.json()["missing"] == [
        "photo:storefront",
        "photo:shelf",
        "photo:conversation",
        "answers",
        "next_action",
    ]
    await add_photos(field, visit["id"], {"shelf": photos["shelf"]})
    response = await submit(field, visit["id"])
    assert response.json()["missing"] == [
        "photo:storefront",
        "photo:conversation",
        "answers",
        "next_action",
    ]


@pytest.mark.parametrize("missing", ["photo:conversation", "answers", "next_action"])
async def test_submit_with_one_piece_missing(
    field: Field, photos: dict[str, bytes], missing: str
) -> None:
    visit = await start(field)
    if missing != "photo:conversation":
        await add_photos(field, visit["id"], photos)
    else:
        await add_photos(
            field, visit["id"], {k: v for k, v in photos.items() if k != "conversation"}
        )
    if missing != "answers":
        answers = fill_form(visit["form"]["fields"])
        await rep_put(field, f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers})
    if missing != "next_action":
        await rep_put(
            field,
            f"/api/v1/visits/{visit['id']}/next-action",
            json=next_action(visit["checked_in_at"]),
        )
    response = await submit(field, visit["id"])
    assert response.status_code == 422
    assert response.json()["missing"] == [missing]


async def test_whole_visit_submit_summary_card_and_share(
    field: Field, photos: dict[str, bytes]
) -> None:
    visit = await start(field)
    await complete(field, visit, photos)
    response = await submit(field, visit["id"])
    assert response.status_code == 200, response.text
    submitted = response.json()
    assert submitted["status"] == "submitted"
    assert submitted["checked_out_at"] is not None
    assert submitted["check_in"] == visit["check_in"]
    assert "short_visit" in {f["code"] for f in submitted["trust"]["flags"]}
    summary = submitted["summary"]
    assert summary["store"]["name"] == "益丰大药房（文三路店）"
    assert summary["next_action"]["type"] == "send_sample"
    assert summary["answers"][0]["key"] == visit["form"]["fields"][0]["key"]
    assert summary["pending"][0]["items"] == ["布洛芬缓释胶囊 0.3g×20粒"]
    assert set(summary["photos"]) == set(KINDS)

    again = await submit(field, visit["id"])
    assert again.status_code == 200
    assert again.json()["summary"] == summary

    as_json = await field.client.get(
        f"/api/v1/visits/{visit['id']}/summary", headers=field.org.rep.headers
    )
    assert as_json.json() == summary
    card = await field.client.get(
        f"/api/v1/visits/{visit['id']}/summary.png", headers=field.org.rep.headers
    )
    assert card.status_code == 200
    assert card.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(card.content)).width == 1080

    share = await field.client.post(
        f"/api/v1/visits/{visit['id']}/share", headers=field.org.rep.headers
    )
    assert share.status_code == 200
    link = share.json()["url"]
    path = link.removeprefix("https://doorstep.test")
    page = await field.client.get(path)
    assert page.status_code == 200
    assert "益丰大药房" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    thumb = await field.client.get(f"{path}/photos/shelf")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    tampered = await field.client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert tampered.status_code == 404


async def test_summary_needs_a_submitted_visit(field: Field) -> None:
    visit = await start(field)
    response = await field.client.get(
        f"/api/v1/visits/{visit['id']}/summary", headers=field.org.rep.headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "visit_not_submitted"


async def test_next_action_seven_day_edges(field: Field) -> None:
    visit = await start(field)
    url = f"/api/v1/visits/{visit['id']}/next-action"
    inside = await rep_put(
        field, url, json=next_action(visit["checked_in_at"], timedelta(days=6, hours=23))
    )
    assert inside.status_code == 201, inside.text
    assert inside.json()["server_time"].endswith("Z")
    beyond = await rep_put(
        field, url, json=next_action(visit["checked_in_at"], timedelta(days=7, seconds=1))
    )
    assert beyond.status_code == 422
    assert beyond.json()["code"] == "action_due_out_of_range"
    past = next_action(visit["checked_in_at"], timedelta(days=-1))
    assert (await rep_put(field, url, json=past)).json()["code"] == "action_due_out_of_range"


async def test_answers_are_validated_against_the_pinned_form(field: Field) -> None:
    visit = await start(field)
    url = f"/api/v1/visits/{visit['id']}/answers"
    bad = await rep_put(field, url, json={"answers": {"no_such_field": 1}})
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "invalid_form"
    pointers = {e["pointer"] for e in body["errors"]}
    assert "/answers/no_such_field" in pointers
    required = [f["key"] for f in visit["form"]["fields"] if f.get("required")]
    assert {f"/answers/{key}" for key in required} <= pointers


async def test_none_cannot_be_chosen_with_a_promotion(field: Field) -> None:
    visit = await start(field)
    promos = next(f for f in visit["form"]["fields"] if f["key"] == "competitor_promotions")
    assert [o["value"] for o in promos["options"] if o.get("exclusive")] == ["none"]
    url = f"/api/v1/visits/{visit['id']}/answers"
    answers = fill_form(visit["form"]["fields"])
    mixed = await rep_put(
        field, url, json={"answers": {**answers, "competitor_promotions": ["buy_gift", "none"]}}
    )
    assert mixed.status_code == 422, mixed.text
    problem = mixed.json()
    assert problem["code"] == "invalid_form"
    assert {"pointer": "/answers/competitor_promotions", "code": "exclusive_option"} in [
        {"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]
    ]
    alone = await rep_put(
        field, url, json={"answers": {**answers, "competitor_promotions": ["none"]}}
    )
    assert alone.status_code == 200, alone.text
    assert alone.json()["answers"]["competitor_promotions"] == ["none"]


async def test_the_same_answers_again_change_nothing(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """An outbox retry of the answers keeps the time they were first saved (no second event)."""
    visit = await start(field)
    url = f"/api/v1/visits/{visit['id']}/answers"
    answers = fill_form(visit["form"]["fields"])
    assert (await rep_put(field, url, json={"answers": answers})).status_code == 200

    async def saved() -> tuple[object, int]:
        async with session_scope(sessionmaker) as session:
            stamp = await session.scalar(
                select(Visit.answers_updated_at).where(Visit.id == uuid.UUID(visit["id"]))
            )
            events = await session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type == "visit.answers_saved")
                .where(Event.subject_id == uuid.UUID(visit["id"]))
            )
        return stamp, int(events or 0)

    first = await saved()
    again = await rep_put(field, url, json={"answers": answers})
    assert again.status_code == 200 and again.json()["answers"] == answers
    assert await saved() == first and first[1] == 1
    changed = {**answers, "notes": "改了"}
    assert (await rep_put(field, url, json={"answers": changed})).status_code == 200
    assert (await saved())[1] == 2


async def test_version_pinning_across_a_form_change(field: Field, photos: dict[str, bytes]) -> None:
    visit = await start(field)
    assert visit["form"]["version"] == 1
    new_form = {
        "fields": [
            {
                "key": "only_question",
                "type": "text",
                "label": {"zh": "唯一问题", "en": "Only"},
                "required": True,
            }
        ]
    }
    published = await field.client.put(
        "/api/v1/customer-types/pharmacy/visit-form", json=new_form, headers=field.org.admin.headers
    )
    assert published.status_code in (200, 201), published.text
    assert published.json()["version"] == 2
    # The open visit still answers (and renders) version 1.
    answers = fill_form(visit["form"]["fields"])
    ok = await rep_put(field, f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers})
    assert ok.status_code == 200, ok.text
    assert ok.json()["form"]["version"] == 1
    await field.abandon(visit["id"], "x")
    fresh = await start(field)
    assert fresh["form"]["version"] == 2
    assert [f["key"] for f in fresh["form"]["fields"]] == ["only_question"]
    assert utc_now()
