"""The typed event catalog: one enum, one payload model per type, and every row written by the
real flows reads back as its type's model."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import jobs
from backend.db import session_scope
from backend.events.catalog import PAYLOADS, EventType
from backend.kit.time import utc_now
from backend.models import Event, Visit
from backend.rectifications import jobs as rectification_jobs
from tests.factories.audit_tours import tour
from tests.factories.forms import fill_form
from tests.factories.images import encode, synthetic_photo
from tests.factories.visits import Field, iso
from tests.factories.world import World

# DESIGN §5, "Event types", that the visit loop and the stores emit (audits, rectifications
# and ping arrive with their modules).
DESIGN_WAVE_1 = (
    "visit.checked_in",
    "visit.submitted",
    "visit.approved",
    "visit.rejected",
    "visit.abandoned",
    "next_action.created",
    "next_action.completed",
    "next_action.rescheduled",
    "next_action.overdue",
    "store.created",
    "store.updated",
)


def test_one_payload_model_per_type() -> None:
    assert set(PAYLOADS) == set(EventType)
    for event_type, model in PAYLOADS.items():
        assert model.type is event_type
    assert len(set(PAYLOADS.values())) == len(EventType)


def test_the_design_names_are_in_the_enum() -> None:
    values = {t.value for t in EventType}
    assert set(DESIGN_WAVE_1) <= values
    # The DESIGN names come first, in the DESIGN's order.
    assert [t.value for t in EventType][: len(DESIGN_WAVE_1)] == list(DESIGN_WAVE_1)


def test_an_unknown_or_misshapen_payload_is_refused() -> None:
    model = PAYLOADS[EventType.visit_submitted]
    with pytest.raises(ValueError):
        model.model_validate({"trust_score": 90})
    with pytest.raises(ValueError):
        model.model_validate({"trust_score": 90, "submit_count": 1, "extra": True})


# --- every row of a whole flow validates against its type's model --------------------------


def _photo(seed: int) -> bytes:
    return encode(synthetic_photo(seed, (800, 600)), "JPEG", quality=80)


class _Flow:
    def __init__(self, field: Field) -> None:
        self.field = field
        self.client = field.client
        self.org = field.org

    async def call(
        self, method: str, path: str, headers: dict[str, str], status: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    async def admin(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return await self.call(method, path, self.org.admin.headers, status, **kwargs)

    async def rep(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return await self.call(method, path, self.org.rep.headers, status, **kwargs)

    async def photo(self, visit_id: str, kind: str, data: bytes) -> Any:
        return await self.rep(
            "PUT",
            f"/api/v1/visits/{visit_id}/photos/{kind}",
            201,
            files={"file": (f"{kind}.jpg", data, "image/jpeg")},
        )

    async def check_in(self, store: dict[str, Any]) -> dict[str, Any]:
        response = await self.field.check_in(self.field.check_in_body(store))
        assert response.status_code == 201, response.text
        visit: dict[str, Any] = response.json()
        return visit

    async def next_action(self, visit: dict[str, Any], due_at: datetime) -> dict[str, Any]:
        body = {"id": str(uuid.uuid4()), "type": "quote", "due_at": iso(due_at), "note": "报价"}
        action: dict[str, Any] = await self.rep(
            "PUT", f"/api/v1/visits/{visit['id']}/next-action", 201, json=body
        )
        return action

    async def answers(self, visit: dict[str, Any]) -> None:
        answers = fill_form(visit["form"]["fields"])
        await self.rep("PUT", f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers})


async def _whole_flow(flow: _Flow, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    org = flow.org
    # People and teams (the org, its users, customer types and forms came with world.org()).
    team = await flow.admin(
        "POST",
        "/api/v1/teams",
        201,
        json={"name": "西湖一组", "supervisor_id": str(org.supervisor.id), "member_ids": []},
    )
    members = {"user_ids": [str(org.rep.id), str(org.other_rep.id)]}
    await flow.admin("POST", f"/api/v1/teams/{team['id']}/members", json=members)
    await flow.admin("DELETE", f"/api/v1/teams/{team['id']}/members/{org.other_rep.id}")
    await flow.admin("PATCH", f"/api/v1/teams/{team['id']}", json={"name": "西湖二组"})
    user = await flow.admin(
        "POST",
        "/api/v1/users",
        201,
        json={
            "username": f"u-{uuid.uuid4().hex[:8]}",
            "display_name": "新人",
            "role": "rep",
            "password": "correct-horse-battery",
        },
    )
    await flow.admin("PATCH", f"/api/v1/users/{user['id']}", json={"display_name": "新同事"})
    await flow.admin("POST", "/api/v1/customer-types", 201, json={"key": "kiosk", "name": "报刊亭"})
    fields = [{"key": "stock", "type": "integer", "label": {"zh": "库存", "en": "Stock"}}]
    await flow.admin("PUT", "/api/v1/customer-types/kiosk/visit-form", json={"fields": fields})

    # Stores: created, edited, a code rotated, a CSV import that creates one and edits one.
    store = await flow.field.store()
    await flow.admin("PATCH", f"/api/v1/stores/{store['id']}", json={"name": "益丰大药房（新店）"})
    other = await flow.field.store(code="ROTATE-1")
    await flow.admin("POST", f"/api/v1/stores/{other['id']}/qr/rotate")
    csv = (
        "code,name,address,lat,lng,geofence_radius_m,customer_type,team\n"
        "CSV-1,老百姓大药房,上海市浦东新区,31.22,121.54,,pharmacy,\n"
        "ROTATE-1,改名的门店,上海市,31.21,121.44,,pharmacy,\n"
    )
    imported = await flow.admin(
        "POST", "/api/v1/stores/import", files={"file": ("s.csv", csv.encode(), "text/csv")}
    )
    assert (imported["created"], imported["updated"]) == (1, 1)

    # A visit: check-in, photos (one replaced), answers, a next action replaced by another,
    # submit, reject, resubmit, approve, share; its action rescheduled, then completed.
    visit = await flow.check_in(store)
    shelf = _photo(11)
    for seed, kind in enumerate(("storefront", "shelf", "conversation")):
        await flow.photo(visit["id"], kind, shelf if kind == "shelf" else _photo(20 + seed))
    await flow.photo(visit["id"], "storefront", _photo(30))
    await flow.answers(visit)
    checked_in = datetime.fromisoformat(visit["checked_in_at"])
    await flow.next_action(visit, checked_in + timedelta(days=1))
    action = await flow.next_action(visit, checked_in + timedelta(days=2))
    path = f"/api/v1/visits/{visit['id']}"
    await flow.rep("POST", f"{path}/submit")
    sup = org.supervisor.headers
    await flow.call("POST", f"{path}/reject", sup, json={"reason": "货架照片太暗"})
    await flow.rep("POST", f"{path}/submit")
    await flow.call("POST", f"{path}/approve", sup, json={"comment": "好"})
    await flow.rep("POST", f"{path}/share", json={})
    actions = f"/api/v1/next-actions/{action['id']}"
    new_due = iso(utc_now() + timedelta(days=3))
    await flow.rep("POST", f"{actions}/reschedule", json={"due_at": new_due, "reason": "店长出差"})
    await flow.rep("POST", f"{actions}/complete", json={"note": "已报价"})

    # A second visit with the first one's shelf photo (a duplicate), submitted with its action
    # left open until it is overdue; a third abandoned with its action dropped.
    second = await flow.check_in(store)
    for seed, kind in enumerate(("storefront", "shelf", "conversation")):
        photo = await flow.photo(
            second["id"], kind, shelf if kind == "shelf" else _photo(40 + seed)
        )
        if kind == "shelf":
            assert [(f["code"], f["other_visit_id"]) for f in photo["flags"]] == [
                ("duplicate_photo", visit["id"])
            ]
    await flow.answers(second)
    second_in = datetime.fromisoformat(second["checked_in_at"])
    late = await flow.next_action(second, second_in + timedelta(hours=2))
    await flow.rep("POST", f"/api/v1/visits/{second['id']}/submit")
    overdue_at = datetime.fromisoformat(late["due_at"]) + timedelta(days=2)
    assert await jobs.run_all(sessionmaker, overdue_at) >= 1
    third = await flow.check_in(store)
    third_in = datetime.fromisoformat(third["checked_in_at"])
    await flow.next_action(third, third_in + timedelta(days=1))
    await flow.rep("POST", f"/api/v1/visits/{third['id']}/abandon", json={"reason": "门店关门"})
    await _audit_flow(flow, sessionmaker)


async def _audit_flow(flow: _Flow, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Audit templates and tours, and their rectifications through every step."""
    org = flow.field.org
    template = await flow.admin(
        "POST", "/api/v1/audit-templates", 201, json={"key": "quick", "name": "快速巡检"}
    )
    item = {"key": "clean", "section": {"zh": "门头", "en": "Front"},
            "label": {"zh": "整洁", "en": "Clean"}, "kind": "check"}  # fmt: skip
    await flow.admin(
        "PUT", f"/api/v1/audit-templates/{template['key']}/checklist", json={"items": [item]}
    )
    tours = await tour(flow.field.client, org)
    visit = await flow.check_in(tours.store)  # the rep was there: the default assignee
    await flow.rep("POST", f"/api/v1/visits/{visit['id']}/abandon", json={"reason": "先巡店"})
    abandoned = await tours.started()
    await flow.call(
        "POST", f"/api/v1/audits/{abandoned['id']}/abandon", org.supervisor.headers,
        json={"reason": "走错店"},
    )  # fmt: skip
    audit = await tours.started()
    items = audit["template"]["items"]
    checks = [i["key"] for i in items if i["kind"] == "check" and not i["critical"]][:2]
    await tours.complete(audit, fail=set(checks), seed=7)
    submitted = (await tours.submit(audit["id"])).json()
    fixed, late = (submitted["rectifications"][0]["id"], submitted["rectifications"][1]["id"])
    rects = "/api/v1/rectifications"
    fix_visit = await flow.check_in(tours.store)
    for seed in (81, 82):
        photo = await flow.field.client.put(
            f"{rects}/{fixed}/after-photo", headers=org.rep.headers,
            files={"file": ("after.jpg", _photo(seed), "image/jpeg")},
        )  # fmt: skip
        assert photo.status_code in (200, 201), photo.text
        await flow.rep("POST", f"{rects}/{fixed}/submit", json={"note": "已整改"})
        if seed == 81:
            await flow.call(
                "POST", f"{rects}/{fixed}/reopen", org.supervisor.headers,
                json={"reason": "价签仍不全"},
            )  # fmt: skip
    await flow.call("POST", f"{rects}/{fixed}/verify", org.supervisor.headers, json={})
    await flow.rep("POST", f"/api/v1/visits/{fix_visit['id']}/abandon", json={"reason": "整改完"})
    overdue_at = datetime.fromisoformat(
        next(r for r in submitted["rectifications"] if r["id"] == late)["due_at"]
    ) + timedelta(days=1)
    assert await rectification_jobs.run_all(sessionmaker, overdue_at) >= 1
    # The webhook endpoint's test button records a ping.
    hook = await flow.admin(
        "POST", "/api/v1/webhook-endpoints", 201, json={"url": "http://127.0.0.1:9/hook",
                                                       "event_types": ["*"]},
    )  # fmt: skip
    await flow.call("POST", f"/api/v1/webhook-endpoints/{hook['id']}/test", org.admin.headers, 202)


async def test_every_event_of_a_whole_flow_reads_back_as_its_model(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    flow = _Flow(Field(client, await world.org()))
    await _whole_flow(flow, sessionmaker)

    async with session_scope(sessionmaker) as session:
        rows = (await session.scalars(select(Event).order_by(Event.occurred_at))).all()
    seen: set[EventType] = set()
    for row in rows:
        event_type = EventType(row.type)
        model = PAYLOADS[event_type]
        payload = model.model_validate(row.payload)
        assert row.subject_type == model.subject_type, row.type
        # The stored JSON is exactly the model's: nothing extra, nothing reshaped.
        assert payload.data() == row.payload, row.type
        seen.add(event_type)
    # The flow reaches every writer: no type in the catalog is left without one.
    assert seen == set(EventType), set(EventType) - seen


async def test_the_summary_reads_back_exactly_as_stored(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    flow = _Flow(Field(client, await world.org()))
    visit = await flow.check_in(await flow.field.store())
    for seed, kind in enumerate(("storefront", "shelf", "conversation")):
        await flow.photo(visit["id"], kind, _photo(60 + seed))
    await flow.answers(visit)
    checked_in = datetime.fromisoformat(visit["checked_in_at"])
    await flow.next_action(visit, checked_in + timedelta(days=2))
    submitted = await flow.rep("POST", f"/api/v1/visits/{visit['id']}/submit")
    summary = await flow.rep("GET", f"/api/v1/visits/{visit['id']}/summary")
    async with session_scope(sessionmaker) as session:
        stored = await session.scalar(
            select(Visit.summary).where(Visit.id == uuid.UUID(visit["id"]))
        )
    assert summary == stored == submitted["summary"]
