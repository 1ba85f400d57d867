"""Customer types and visit form versions through the API and the service (real PostgreSQL)."""

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import NotFound
from backend.forms import service as forms_service
from backend.models import Event, VisitForm
from tests.factories.forms import FILLED_IN
from tests.factories.world import Org, World

TWO_FIELDS = [
    {
        "key": "stock_level",
        "type": "choice",
        "label": {"zh": "库存水平", "en": "Stock level"},
        "required": True,
        "options": [
            {"value": "high", "label": {"zh": "充足", "en": "Plenty"}},
            {"value": "low", "label": {"zh": "偏低", "en": "Low"}, "tag": "restock_soon"},
        ],
    },
    {
        "key": "restock_list",
        "type": "string_list",
        "label": {"zh": "补货清单", "en": "Restock list"},
        "pending": True,
        "visible_if": {"field": "stock_level", "equals": "low"},
    },
]


async def put_form(
    client: httpx.AsyncClient, org: Org, key: str, fields: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    return await client.put(
        f"/api/v1/customer-types/{key}/visit-form",
        json={"fields": fields, **extra},
        headers=org.admin.headers,
    )


async def test_a_new_org_has_the_default_types_and_forms(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    response = await client.get("/api/v1/customer-types", headers=org.rep.headers)
    assert response.status_code == 200, response.text
    types = {t["key"]: t for t in response.json()}
    assert set(types) == {"pharmacy", "clinic", "supermarket"}
    pharmacy = types["pharmacy"]
    assert (pharmacy["name"], pharmacy["name_en"]) == ("药店", "Pharmacy")
    assert pharmacy["visit_form"]["version"] == 1
    keys = [f["key"] for f in pharmacy["visit_form"]["fields"]]
    assert "otc_out_of_stock" in keys and "pharmacist_attitude" in keys
    otc = next(f for f in pharmacy["visit_form"]["fields"] if f["key"] == "otc_out_of_stock")
    assert otc["type"] == "string_list" and otc["pending"] is True
    supermarket = types["supermarket"]["visit_form"]["fields"]
    follow_up = next(f for f in supermarket if f["key"] == "promotion_type")
    assert follow_up["visible_if"] == {"field": "promotion_running", "equals": True, "in": None}


async def test_default_forms_validate_a_realistic_visit(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    async with sessionmaker() as session:
        for key, answers in FILLED_IN.items():
            form = await forms_service.current_form(session, org.id, key)
            assert (form.customer_type, form.version) == (key, 1)
            assert forms_service.validate_answers(form, answers) == answers


async def test_publishing_makes_a_new_version_and_keeps_the_old(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    v1 = (
        await client.get("/api/v1/customer-types/pharmacy/visit-form", headers=org.rep.headers)
    ).json()
    assert v1["version"] == 1

    published = await put_form(client, org, "pharmacy", TWO_FIELDS)
    assert published.status_code == 200, published.text
    v2 = published.json()
    assert v2["version"] == 2
    assert [f["key"] for f in v2["fields"]] == ["stock_level", "restock_list"]

    current = await client.get(
        "/api/v1/customer-types/pharmacy/visit-form", headers=org.rep.headers
    )
    assert current.json() == v2
    old = await client.get(
        "/api/v1/customer-types/pharmacy/visit-form?version=1", headers=org.supervisor.headers
    )
    assert old.status_code == 200
    assert old.json() == v1
    listed = (await client.get("/api/v1/customer-types", headers=org.rep.headers)).json()
    assert next(t for t in listed if t["key"] == "pharmacy")["visit_form"] == v2

    # The same fields again publish nothing: a retried PUT does not pile up versions.
    again = await put_form(client, org, "pharmacy", TWO_FIELDS)
    assert again.json()["version"] == 2

    async with sessionmaker() as session:
        pinned = await forms_service.form_version(session, org.id, "pharmacy", 1)
        current_form = await forms_service.current_form(session, org.id, "pharmacy")
        assert (pinned.version, current_form.version) == (1, 2)
        # A visit begun on v1 keeps being validated against v1.
        assert forms_service.validate_answers(pinned, FILLED_IN["pharmacy"])
        assert forms_service.validate_answers(current_form, {"stock_level": "low"}) == {
            "stock_level": "low"
        }
        published_events = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.org_id == org.id, Event.type == "visit_form.published")
        )
        assert published_events == 4  # three defaults + v2


async def test_publishing_over_a_newer_version_conflicts(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    assert (await put_form(client, org, "clinic", TWO_FIELDS, version=1)).status_code == 200
    stale = await put_form(client, org, "clinic", TWO_FIELDS[:1], version=1)
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert stale.json()["current_version"] == 2


async def test_unknown_type_or_version_is_404(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for url in (
        "/api/v1/customer-types/florist/visit-form",
        "/api/v1/customer-types/pharmacy/visit-form?version=2",
        "/api/v1/customer-types/NOT%20A%20KEY/visit-form",
        "/api/v1/customer-types/a%00b/visit-form",
    ):
        response = await client.get(url, headers=org.rep.headers)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    assert (await put_form(client, org, "florist", TWO_FIELDS)).status_code == 404
    too_big = await client.get(
        f"/api/v1/customer-types/pharmacy/visit-form?version={2**63}", headers=org.rep.headers
    )
    assert too_big.status_code == 422


async def test_another_orgs_type_is_404(client: httpx.AsyncClient, world: World) -> None:
    org, other = await world.org(), await world.org()
    created = await client.post(
        "/api/v1/customer-types",
        json={"key": "optician", "name": "眼镜店", "name_en": "Optician"},
        headers=org.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["visit_form"] == {"version": 1, "fields": []}
    form = await client.get("/api/v1/customer-types/optician/visit-form", headers=org.rep.headers)
    assert form.json() == {"version": 1, "fields": []}

    assert (
        await client.get("/api/v1/customer-types/optician/visit-form", headers=other.admin.headers)
    ).status_code == 404
    assert (await put_form(client, other, "optician", TWO_FIELDS)).status_code == 404
    # Each org's own pharmacy form is its own: publishing in one leaves the other at v1.
    assert (await put_form(client, org, "pharmacy", TWO_FIELDS)).json()["version"] == 2
    theirs = await client.get(
        "/api/v1/customer-types/pharmacy/visit-form", headers=other.rep.headers
    )
    assert theirs.json()["version"] == 1


async def test_only_admins_publish(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for actor in (org.rep, org.supervisor):
        response = await client.put(
            "/api/v1/customer-types/pharmacy/visit-form",
            json={"fields": TWO_FIELDS},
            headers=actor.headers,
        )
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    anonymous = await client.put(
        "/api/v1/customer-types/pharmacy/visit-form", json={"fields": TWO_FIELDS}
    )
    assert anonymous.status_code == 401
    assert (await client.get("/api/v1/customer-types/pharmacy/visit-form")).status_code == 401


async def test_invalid_definitions_are_422_with_pointers(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    bad_type = await put_form(
        client, org, "pharmacy", [TWO_FIELDS[0], {**TWO_FIELDS[1], "type": "colour"}]
    )
    assert bad_type.status_code == 422
    assert bad_type.json()["code"] == "validation_error"
    assert [e["pointer"] for e in bad_type.json()["errors"]] == ["/fields/1/type"]

    rules = await put_form(
        client,
        org,
        "pharmacy",
        [
            {**TWO_FIELDS[1], "visible_if": {"field": "stock_level", "equals": "low"}},
            TWO_FIELDS[0],
            {**TWO_FIELDS[0], "options": None},
        ],
    )
    assert rules.status_code == 422, rules.text
    body = rules.json()
    assert body["code"] == "validation_error"
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        ("/fields/0/visible_if/field", "later_field"),
        ("/fields/2/key", "duplicate"),
        ("/fields/2/options", "required"),
    ]
    nul = await put_form(
        client, org, "pharmacy", [{**TWO_FIELDS[0], "label": {"zh": "\x00", "en": "x"}}]
    )
    assert nul.status_code == 422
    huge = await put_form(
        client,
        org,
        "pharmacy",
        [{**TWO_FIELDS[0], "type": "integer", "options": None, "max": 2**63}],
    )
    assert huge.status_code == 422
    # Nothing was published by any of these.
    current = await client.get(
        "/api/v1/customer-types/pharmacy/visit-form", headers=org.rep.headers
    )
    assert current.json()["version"] == 1


async def test_service_raises_not_found(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    async with sessionmaker() as session:
        for call in (
            forms_service.current_form(session, org.id, "florist"),
            forms_service.current_form(session, uuid.uuid4(), "pharmacy"),
            forms_service.form_version(session, org.id, "pharmacy", 9),
            forms_service.form_version(session, org.id, "bad key\x00", 1),
        ):
            try:
                await call
            except NotFound:
                continue
            raise AssertionError("expected NotFound")
        rows = await session.scalar(
            select(func.count()).select_from(VisitForm).where(VisitForm.org_id == org.id)
        )
        assert rows == 3
