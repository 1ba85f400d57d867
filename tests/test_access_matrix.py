"""Every API route × {anonymous, rep, supervisor, admin, admin of another org}.

Anonymous → 401; a role the route does not allow → 403; another organization's object → 404;
an allowed role → 2xx. A route of the app that is missing here fails the test, so every new
route must state who may call it.
"""

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from backend.kit.time import utc_now
from backend.ops.docs import ASSETS as DOC_ASSETS
from backend.ops.docs import asset_url
from tests.factories.api_keys import create_api_key
from tests.factories.audit_tours import Tour, item_photo
from tests.factories.forms import fill_form
from tests.factories.images import encode, synthetic_photo
from tests.factories.stores import create_store, create_team
from tests.factories.visits import KINDS, Field, complete, next_action, submit
from tests.factories.visits import check_in_body as new_check_in
from tests.factories.webhooks import create_endpoint, deliveries
from tests.factories.world import Org, World

ADMIN, SUPERVISOR, REP = "admin", "supervisor", "rep"
EVERYONE = frozenset({ADMIN, SUPERVISOR, REP})
MANAGERS = frozenset({ADMIN, SUPERVISOR})
REPS = frozenset({REP})
ADMINS = frozenset({ADMIN})


class Context:
    """Objects of organization A that the routes act on, made fresh where a call consumes them."""

    def __init__(self, client: httpx.AsyncClient, world: World, org: Org) -> None:
        self.client = client
        self.world = world
        self.org = org
        self.team_made = False
        self.audit_team: dict[str, Any] | None = None

    async def team(self) -> dict[str, Any]:
        return await create_team(self.client, self.org, members=[self.org.rep, self.org.other_rep])

    async def open_visit(self) -> str:
        """An open visit of org A's rep, in a team the supervisor leads."""
        if not self.team_made:
            await self.team()
            self.team_made = True
        params = await fresh_store_for_check_in(self)
        response = await self.client.post(
            "/api/v1/visits", json=check_in_body(self, params), headers=self.org.rep.headers
        )
        assert response.status_code == 201, response.text
        visit_id: str = response.json()["id"]
        return visit_id

    async def open_visit_body(self) -> dict[str, Any]:
        visit_id = await self.open_visit()
        response = await self.client.get(f"/api/v1/visits/{visit_id}", headers=self.org.rep.headers)
        body: dict[str, Any] = response.json()
        return body

    async def submitted_visit(self) -> str:
        field = Field(self.client, self.org)
        visit = await self.open_visit_body()
        await complete(field, visit, MATRIX_PHOTOS)
        response = await submit(field, visit["id"])
        assert response.status_code == 200, response.text
        return str(visit["id"])

    async def close_open_visit(self) -> None:
        listed = await self.client.get("/api/v1/visits?status=open", headers=self.org.rep.headers)
        for visit in listed.json()["items"]:
            await self.client.post(
                f"/api/v1/visits/{visit['id']}/abandon",
                json={"reason": "matrix"},
                headers=self.org.rep.headers,
            )

    async def store(self) -> dict[str, Any]:
        return await create_store(self.client, self.org.admin.headers)

    # --- audit tours ---------------------------------------------------------------------------

    async def tour(self) -> Tour:
        """A fresh store in a team the supervisor leads, with both auditors free to start."""
        if self.audit_team is None:
            self.audit_team = await self.team()
        store = await create_store(
            self.client, self.org.admin.headers, team_id=self.audit_team["id"]
        )
        await self.close_open_audits()
        return Tour(self.client, self.org, store, self.audit_team)

    async def close_open_audits(self) -> None:
        for actor in (self.org.supervisor, self.org.admin):
            listed = await self.client.get("/api/v1/audits?limit=200", headers=actor.headers)
            for audit in listed.json()["items"]:
                if audit["status"] == "open" and audit["auditor"]["id"] == str(actor.id):
                    await self.client.post(
                        f"/api/v1/audits/{audit['id']}/abandon",
                        json={"reason": "matrix"},
                        headers=actor.headers,
                    )

    async def open_audit(self) -> tuple[Tour, dict[str, Any]]:
        tour = await self.tour()
        return tour, await tour.started()

    async def rectification(self, *, after_photo: bool = False, submitted: bool = False) -> str:
        """A rectification assigned to the rep (a failed item with its before photo); with the
        rep checked in at its store, its after photo taken, and submitted, as asked."""
        tour, audit = await self.open_audit()
        item = next(
            i
            for i in audit["template"]["items"]
            if i["kind"] == "check" and i["photo"] == "on_fail"
        )
        await tour.complete(audit, fail={item["key"]})
        response = await tour.submit(
            audit["id"],
            {"rectifications": [{"item_key": item["key"], "assignee_id": str(self.org.rep.id)}]},
        )
        assert response.status_code == 200, response.text
        rect_id: str = response.json()["rectifications"][0]["id"]
        await self.close_open_visit()
        if after_photo or submitted:
            visit = await self.client.post(
                "/api/v1/visits",
                json=check_in_body(self, {"qr": tour.store["qr_url"]}),
                headers=self.org.rep.headers,
            )
            assert visit.status_code == 201, visit.text
            photo = await self.client.put(
                f"/api/v1/rectifications/{rect_id}/after-photo",
                files={"file": ("after.jpg", item_photo(77), "image/jpeg")},
                headers=self.org.rep.headers,
            )
            assert photo.status_code == 201, photo.text
        if submitted:
            done = await self.client.post(
                f"/api/v1/rectifications/{rect_id}/submit", json={}, headers=self.org.rep.headers
            )
            assert done.status_code == 200, done.text
        return rect_id


Params = Callable[[Context], Awaitable[dict[str, str]]]
Body = Callable[[Context, dict[str, str]], dict[str, Any] | None]


async def no_params(ctx: Context) -> dict[str, str]:
    return {}


async def user_param(ctx: Context) -> dict[str, str]:
    return {"user_id": str(ctx.org.other_rep.id)}


async def team_param(ctx: Context) -> dict[str, str]:
    return {"team_id": (await ctx.team())["id"]}


async def team_member_params(ctx: Context) -> dict[str, str]:
    team = await ctx.team()
    return {"team_id": team["id"], "user_id": str(ctx.org.rep.id)}


async def store_param(ctx: Context) -> dict[str, str]:
    return {"store_id": (await ctx.store())["id"]}


async def own_customer_type_param(ctx: Context) -> dict[str, str]:
    # A type only org A has: with "pharmacy" another org's admin would reach their own form.
    key = unique("type_")
    response = await ctx.client.post(
        "/api/v1/customer-types",
        json={"key": key, "name": "眼镜店"},
        headers=ctx.org.admin.headers,
    )
    assert response.status_code == 201, response.text
    return {"key": key}


async def fresh_store_for_check_in(ctx: Context) -> dict[str, str]:
    await ctx.close_open_visit()
    return {"qr": (await ctx.store())["qr_url"]}


async def open_visit_param(ctx: Context) -> dict[str, str]:
    return {"visit_id": await ctx.open_visit()}


SMALL_JPEG = encode(synthetic_photo(3, (320, 240)), "JPEG", quality=80)


async def photo_upload_params(ctx: Context) -> dict[str, str]:
    return {"visit_id": await ctx.open_visit(), "kind": "storefront"}


async def photo_params(ctx: Context) -> dict[str, str]:
    params = await photo_upload_params(ctx)
    response = await ctx.client.put(
        "/api/v1/visits/{visit_id}/photos/{kind}".format(**params),
        files={"file": ("p.jpg", SMALL_JPEG, "image/jpeg")},
        headers=ctx.org.rep.headers,
    )
    assert response.status_code == 201, response.text
    return params


MATRIX_PHOTOS = {kind: SMALL_JPEG for kind in KINDS}


async def answers_params(ctx: Context) -> dict[str, str]:
    visit = await ctx.open_visit_body()
    return {"visit_id": visit["id"], "answers": json.dumps(fill_form(visit["form"]["fields"]))}


async def next_action_params(ctx: Context) -> dict[str, str]:
    visit = await ctx.open_visit_body()
    return {"visit_id": visit["id"], "checked_in_at": visit["checked_in_at"]}


async def submitted_params(ctx: Context) -> dict[str, str]:
    return {"visit_id": await ctx.submitted_visit()}


async def completable_params(ctx: Context) -> dict[str, str]:
    field = Field(ctx.client, ctx.org)
    visit = await ctx.open_visit_body()
    await complete(field, visit, MATRIX_PHOTOS)
    return {"visit_id": visit["id"]}


async def action_params(ctx: Context) -> dict[str, str]:
    params = await next_action_params(ctx)
    response = await ctx.client.put(
        "/api/v1/visits/{visit_id}/next-action".format(**params),
        json=next_action(params["checked_in_at"]),
        headers=ctx.org.rep.headers,
    )
    assert response.status_code == 201, response.text
    return {"action_id": response.json()["id"]}


async def notification_params(ctx: Context) -> dict[str, str]:
    visit_id = await ctx.submitted_visit()
    response = await ctx.client.post(
        f"/api/v1/visits/{visit_id}/reject",
        json={"reason": "重拍陈列照"},
        headers=ctx.org.supervisor.headers,
    )
    assert response.status_code == 200, response.text
    inbox = await ctx.client.get("/api/v1/notifications", headers=ctx.org.rep.headers)
    return {"notification_id": inbox.json()["items"][0]["id"]}


async def audit_store_params(ctx: Context) -> dict[str, str]:
    return {"qr": (await ctx.tour()).store["qr_url"]}


async def audit_param(ctx: Context) -> dict[str, str]:
    _, audit = await ctx.open_audit()
    item = next(i for i in audit["template"]["items"] if i["kind"] == "check")
    return {"audit_id": audit["id"], "item_key": item["key"]}


async def audit_photo_params(ctx: Context) -> dict[str, str]:
    tour, audit = await ctx.open_audit()
    key = audit["template"]["items"][0]["key"]
    response = await tour.photo(audit["id"], key, item_photo(5))
    assert response.status_code == 201, response.text
    return {"audit_id": audit["id"], "item_key": key}


async def completed_audit_param(ctx: Context) -> dict[str, str]:
    tour, audit = await ctx.open_audit()
    await tour.complete(audit)
    return {"audit_id": audit["id"]}


async def _template_with_checklist(ctx: Context) -> dict[str, str]:
    params = await own_template_param(ctx)
    response = await ctx.client.put(
        f"/api/v1/audit-templates/{params['key']}/checklist",
        json=CHECKLIST,
        headers=ctx.org.admin.headers,
    )
    assert response.status_code == 200, response.text
    return params


async def own_template_param(ctx: Context) -> dict[str, str]:
    key = unique("tpl_")
    response = await ctx.client.post(
        "/api/v1/audit-templates",
        json={"key": key, "name": "月度巡检"},
        headers=ctx.org.admin.headers,
    )
    assert response.status_code == 201, response.text
    return {"key": key}


async def rectification_param(ctx: Context) -> dict[str, str]:
    return {"rectification_id": await ctx.rectification()}


async def rectification_with_photo_param(ctx: Context) -> dict[str, str]:
    return {"rectification_id": await ctx.rectification(after_photo=True)}


async def rectification_at_store_param(ctx: Context) -> dict[str, str]:
    """The rep is checked in at the rectification's store, ready to take its after photo."""
    rect_id = await ctx.rectification()
    rect = await ctx.client.get(f"/api/v1/rectifications/{rect_id}", headers=ctx.org.rep.headers)
    store = await ctx.client.get(
        f"/api/v1/stores/{rect.json()['store']['id']}", headers=ctx.org.admin.headers
    )
    visit = await ctx.client.post(
        "/api/v1/visits",
        json=check_in_body(ctx, {"qr": store.json()["qr_url"]}),
        headers=ctx.org.rep.headers,
    )
    assert visit.status_code == 201, visit.text
    return {"rectification_id": rect_id}


async def submitted_rectification_param(ctx: Context) -> dict[str, str]:
    return {"rectification_id": await ctx.rectification(submitted=True)}


async def api_key_param(ctx: Context) -> dict[str, str]:
    return {"key_id": (await create_api_key(ctx.client, ctx.org, ["stores:read"]))["id"]}


HOOK_URL = "http://127.0.0.1:9/hooks/doorstep"


async def endpoint_param(ctx: Context) -> dict[str, str]:
    return {"endpoint_id": (await create_endpoint(ctx.client, ctx.org, HOOK_URL))["id"]}


async def delivery_param(ctx: Context) -> dict[str, str]:
    """A delivery of the test button's ping (the sender is off here: it stays pending)."""
    endpoint = await create_endpoint(ctx.client, ctx.org, HOOK_URL)
    response = await ctx.client.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", headers=ctx.org.admin.headers
    )
    assert response.status_code in (200, 201, 202), response.text
    made = await deliveries(ctx.client, ctx.org, endpoint["id"])
    return {"delivery_id": made[0]["id"]}


async def calendar_token_param(ctx: Context) -> dict[str, str]:
    response = await ctx.client.get("/api/v1/calendar-feed", headers=ctx.org.rep.headers)
    assert response.status_code == 200, response.text
    return {"token": response.json()["url"].rsplit("/", 1)[1].removesuffix(".ics")}


def audit_start_body(ctx: Context, params: dict[str, str]) -> dict[str, Any]:
    now = utc_now()
    return new_check_in(params["qr"], accuracy_m=10, captured_at=now, device_time=now)


CHECKLIST = {
    "items": [
        {
            "key": "clean",
            "section": {"zh": "门头", "en": "Front"},
            "label": {"zh": "整洁", "en": "Clean"},
            "kind": "check",
        }
    ]
}


def in_two_days() -> str:
    return (utc_now() + timedelta(days=2)).isoformat().replace("+00:00", "Z")


def check_in_body(ctx: Context, params: dict[str, str]) -> dict[str, Any]:
    now = utc_now()
    return new_check_in(params["qr"], accuracy_m=10, captured_at=now, device_time=now)


CSV = "code,name,address,lat,lng,customer_type\nM-{n},门店,杭州,30.27,120.12,clinic\n"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    params: Params = no_params
    body: Body = field(default=lambda ctx, params: None)
    form: bool = False
    files: bool = False
    public: bool = False
    # What another org's admin gets, when not the default (404 on an object, 2xx on a list):
    # e.g. 422 when the body names org A's objects, which must not be linkable across orgs.
    foreign: str | None = None
    # What a role outside ``allowed`` gets: 403 unless the object is private to one user.
    denied: str = "403"


MATRIX: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/auth/token"): Rule(
        EVERYONE,
        public=True,
        form=True,
        body=lambda ctx, p: {
            "grant_type": "password",
            "username": ctx.org.rep.username,
            "password": "correct-horse-battery",
        },
    ),
    ("GET", "/api/v1/me"): Rule(EVERYONE),
    ("POST", "/api/v1/users"): Rule(
        ADMINS,
        body=lambda ctx, p: {
            "username": unique("u-"),
            "display_name": "新同事",
            "role": "rep",
            "password": "a-long-password",
        },
    ),
    ("GET", "/api/v1/users"): Rule(ADMINS),
    ("GET", "/api/v1/users/{user_id}"): Rule(ADMINS, params=user_param),
    ("PATCH", "/api/v1/users/{user_id}"): Rule(
        ADMINS, params=user_param, body=lambda ctx, p: {"display_name": "改名"}
    ),
    ("POST", "/api/v1/teams"): Rule(
        ADMINS,
        body=lambda ctx, p: {"name": unique("t-"), "supervisor_id": str(ctx.org.supervisor.id)},
        foreign="422",
    ),
    ("GET", "/api/v1/teams"): Rule(EVERYONE),
    ("GET", "/api/v1/teams/{team_id}"): Rule(EVERYONE, params=team_param),
    ("PATCH", "/api/v1/teams/{team_id}"): Rule(
        ADMINS, params=team_param, body=lambda ctx, p: {"name": unique("renamed-")}
    ),
    ("POST", "/api/v1/teams/{team_id}/members"): Rule(
        ADMINS, params=team_param, body=lambda ctx, p: {"user_ids": [str(ctx.org.rep.id)]}
    ),
    ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"): Rule(
        ADMINS, params=team_member_params
    ),
    ("GET", "/api/v1/customer-types"): Rule(EVERYONE),
    ("POST", "/api/v1/customer-types"): Rule(
        ADMINS, body=lambda ctx, p: {"key": unique("type_"), "name": "便利店"}
    ),
    ("GET", "/api/v1/customer-types/{key}/visit-form"): Rule(
        EVERYONE, params=own_customer_type_param
    ),
    ("PUT", "/api/v1/customer-types/{key}/visit-form"): Rule(
        ADMINS,
        params=own_customer_type_param,
        body=lambda ctx, p: {
            "fields": [
                {
                    "key": "stock_ok",
                    "type": "boolean",
                    "label": {"zh": "库存充足", "en": "Stock OK"},
                }
            ]
        },
    ),
    ("POST", "/api/v1/stores"): Rule(
        ADMINS,
        body=lambda ctx, p: {
            "code": unique("S-"),
            "name": "联华超市（庆春路店）",
            "lat": 30.26,
            "lng": 120.17,
            "customer_type": "supermarket",
        },
    ),
    ("GET", "/api/v1/stores"): Rule(EVERYONE),
    ("GET", "/api/v1/stores/{store_id}"): Rule(EVERYONE, params=store_param),
    ("PATCH", "/api/v1/stores/{store_id}"): Rule(
        ADMINS, params=store_param, body=lambda ctx, p: {"name": "新店名"}
    ),
    ("POST", "/api/v1/stores/import"): Rule(
        ADMINS, files=True, body=lambda ctx, p: {"csv": CSV.format(n=uuid.uuid4().hex[:6])}
    ),
    ("POST", "/api/v1/stores/{store_id}/qr/rotate"): Rule(ADMINS, params=store_param),
    ("GET", "/api/v1/stores/{store_id}/timeline"): Rule(EVERYONE, params=store_param),
    # The QR images and posters carry the door code: admins only, like ``qr_url``.
    ("GET", "/api/v1/stores/{store_id}/qr.png"): Rule(ADMINS, params=store_param),
    ("GET", "/api/v1/stores/{store_id}/qr.svg"): Rule(ADMINS, params=store_param),
    ("GET", "/api/v1/stores/{store_id}/poster.pdf"): Rule(ADMINS, params=store_param),
    ("POST", "/api/v1/stores/posters.pdf"): Rule(
        ADMINS,
        params=store_param,
        body=lambda ctx, p: {"store_ids": [p["store_id"]]},
        foreign="404",
    ),
    ("POST", "/api/v1/visits"): Rule(
        frozenset({REP}), params=fresh_store_for_check_in, body=check_in_body, foreign="403"
    ),
    ("GET", "/api/v1/visits"): Rule(EVERYONE),
    ("GET", "/api/v1/visits/{visit_id}"): Rule(EVERYONE, params=open_visit_param),
    ("POST", "/api/v1/visits/{visit_id}/abandon"): Rule(
        frozenset({REP}), params=open_visit_param, body=lambda ctx, p: {"reason": "门店关门"}
    ),
    ("PUT", "/api/v1/visits/{visit_id}/photos/{kind}"): Rule(
        frozenset({REP}), params=photo_upload_params, files=True, body=lambda ctx, p: {}
    ),
    ("GET", "/api/v1/visits/{visit_id}/photos/{kind}"): Rule(EVERYONE, params=photo_params),
    ("GET", "/api/v1/visits/{visit_id}/photos/{kind}/thumb"): Rule(EVERYONE, params=photo_params),
    ("PUT", "/api/v1/visits/{visit_id}/answers"): Rule(
        REPS, params=answers_params, body=lambda ctx, p: {"answers": json.loads(p["answers"])}
    ),
    ("PUT", "/api/v1/visits/{visit_id}/next-action"): Rule(
        REPS, params=next_action_params, body=lambda ctx, p: next_action(p["checked_in_at"])
    ),
    ("POST", "/api/v1/visits/{visit_id}/submit"): Rule(REPS, params=completable_params),
    ("POST", "/api/v1/visits/{visit_id}/approve"): Rule(
        MANAGERS, params=submitted_params, body=lambda ctx, p: {"comment": "好"}
    ),
    ("POST", "/api/v1/visits/{visit_id}/reject"): Rule(
        MANAGERS, params=submitted_params, body=lambda ctx, p: {"reason": "照片模糊"}
    ),
    ("GET", "/api/v1/visits/{visit_id}/summary"): Rule(EVERYONE, params=submitted_params),
    ("GET", "/api/v1/visits/{visit_id}/summary.png"): Rule(EVERYONE, params=submitted_params),
    ("POST", "/api/v1/visits/{visit_id}/share"): Rule(EVERYONE, params=submitted_params),
    ("GET", "/api/v1/review-queue"): Rule(MANAGERS),
    ("GET", "/api/v1/next-actions"): Rule(EVERYONE),
    ("GET", "/api/v1/next-actions/{action_id}"): Rule(EVERYONE, params=action_params),
    ("POST", "/api/v1/next-actions/{action_id}/complete"): Rule(
        REPS, params=action_params, body=lambda ctx, p: {"note": "已送样"}
    ),
    ("POST", "/api/v1/next-actions/{action_id}/reschedule"): Rule(
        REPS,
        params=action_params,
        body=lambda ctx, p: {"due_at": in_two_days(), "reason": "客户出差"},
    ),
    ("GET", "/api/v1/notifications"): Rule(EVERYONE),
    # A notification is its recipient's alone: anyone else is told it does not exist.
    ("POST", "/api/v1/notifications/{notification_id}/read"): Rule(
        REPS, params=notification_params, denied="404"
    ),
    ("GET", "/api/v1/config"): Rule(EVERYONE),
    ("GET", "/api/v1/audit-templates"): Rule(EVERYONE),
    ("POST", "/api/v1/audit-templates"): Rule(
        ADMINS, body=lambda ctx, p: {"key": unique("tpl_"), "name": "季度巡检"}
    ),
    ("GET", "/api/v1/audit-templates/{key}/checklist"): Rule(
        EVERYONE, params=lambda ctx: _template_with_checklist(ctx)
    ),
    ("PUT", "/api/v1/audit-templates/{key}/checklist"): Rule(
        ADMINS, params=own_template_param, body=lambda ctx, p: CHECKLIST
    ),
    # An audit starts at the door of a store of a team the supervisor leads (or any, for an
    # admin); another org's admin holds a code that is not theirs: invalid_qr.
    ("POST", "/api/v1/audits"): Rule(
        MANAGERS, params=audit_store_params, body=audit_start_body, foreign="422"
    ),
    ("GET", "/api/v1/audits"): Rule(MANAGERS),
    ("GET", "/api/v1/audits/{audit_id}"): Rule(MANAGERS, params=audit_param),
    # Only the auditor who started it writes to an audit.
    ("PUT", "/api/v1/audits/{audit_id}/results"): Rule(
        frozenset({SUPERVISOR}),
        params=audit_param,
        body=lambda ctx, p: {"results": {p["item_key"]: {"result": "pass"}}},
    ),
    ("PUT", "/api/v1/audits/{audit_id}/items/{item_key}/photo"): Rule(
        frozenset({SUPERVISOR}), params=audit_param, files=True, body=lambda ctx, p: {}
    ),
    ("GET", "/api/v1/audits/{audit_id}/items/{item_key}/photo"): Rule(
        MANAGERS, params=audit_photo_params
    ),
    ("POST", "/api/v1/audits/{audit_id}/submit"): Rule(
        frozenset({SUPERVISOR}), params=completed_audit_param, body=lambda ctx, p: {}
    ),
    ("POST", "/api/v1/audits/{audit_id}/abandon"): Rule(
        frozenset({SUPERVISOR}), params=audit_param, body=lambda ctx, p: {"reason": "门店装修"}
    ),
    ("POST", "/api/v1/api-keys"): Rule(
        ADMINS, body=lambda ctx, p: {"name": "ERP", "scopes": ["stores:read"]}
    ),
    ("GET", "/api/v1/api-keys"): Rule(ADMINS),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Rule(ADMINS, params=api_key_param),
    ("GET", "/api/v1/events"): Rule(ADMINS),
    ("POST", "/api/v1/webhook-endpoints"): Rule(
        ADMINS, body=lambda ctx, p: {"url": HOOK_URL, "event_types": ["visit.submitted"]}
    ),
    ("GET", "/api/v1/webhook-endpoints"): Rule(ADMINS),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): Rule(ADMINS, params=endpoint_param),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): Rule(
        ADMINS, params=endpoint_param, body=lambda ctx, p: {"event_types": ["*"]}
    ),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): Rule(ADMINS, params=endpoint_param),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): Rule(
        ADMINS, params=endpoint_param
    ),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test"): Rule(ADMINS, params=endpoint_param),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): Rule(
        ADMINS, params=endpoint_param
    ),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/redeliver-failed"): Rule(
        ADMINS, params=endpoint_param, body=lambda ctx, p: {"since": in_two_days()}
    ),
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/redeliver"): Rule(
        ADMINS, params=delivery_param
    ),
    ("GET", "/api/v1/calendar-feed"): Rule(EVERYONE),
    ("POST", "/api/v1/calendar-feed/rotate"): Rule(EVERYONE),
    # The secret URL is the only key: anyone holding it reads the feed.
    ("GET", "/cal/{token}.ics"): Rule(EVERYONE, public=True, params=calendar_token_param),
    ("GET", "/api/v1/rectifications"): Rule(EVERYONE),
    ("GET", "/api/v1/rectifications/{rectification_id}"): Rule(
        EVERYONE, params=rectification_param
    ),
    ("GET", "/api/v1/rectifications/{rectification_id}/before-photo"): Rule(
        EVERYONE, params=rectification_param
    ),
    ("GET", "/api/v1/rectifications/{rectification_id}/after-photo"): Rule(
        EVERYONE, params=rectification_with_photo_param
    ),
    # The fix is proven at the door: the assignee, checked in at that store.
    ("PUT", "/api/v1/rectifications/{rectification_id}/after-photo"): Rule(
        REPS, params=rectification_at_store_param, files=True, body=lambda ctx, p: {}
    ),
    ("POST", "/api/v1/rectifications/{rectification_id}/submit"): Rule(
        REPS, params=rectification_with_photo_param, body=lambda ctx, p: {"note": "已整改"}
    ),
    ("POST", "/api/v1/rectifications/{rectification_id}/verify"): Rule(
        MANAGERS, params=submitted_rectification_param, body=lambda ctx, p: {"comment": "好"}
    ),
    ("POST", "/api/v1/rectifications/{rectification_id}/reopen"): Rule(
        MANAGERS, params=submitted_rectification_param, body=lambda ctx, p: {"reason": "仍缺价签"}
    ),
    ("GET", "/healthz"): Rule(EVERYONE, public=True),
    ("GET", "/readyz"): Rule(EVERYONE, public=True),
    ("GET", "/metrics"): Rule(EVERYONE, public=True),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every documented operation (the OpenAPI document is generated from the routes)."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    missing = app_routes(app) - MATRIX.keys()
    assert not missing, f"routes missing from the access matrix: {sorted(missing)}"
    stale = MATRIX.keys() - app_routes(app)
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"


# Public routes outside the OpenAPI document, so outside MATRIX: the API reference pages and
# their assets (backend/ops/docs.py), open to anyone as the document they render is.
UNDOCUMENTED_PUBLIC = (
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    *(asset_url(name) for name in DOC_ASSETS),
)


async def test_the_api_reference_is_public(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for path in UNDOCUMENTED_PUBLIC:
        for headers in ({}, org.rep.headers):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    rule: Rule,
    ctx: Context,
    headers: dict[str, str],
) -> httpx.Response:
    params = await rule.params(ctx)
    url = path.format(**params)
    body = rule.body(ctx, params)
    if rule.form:
        return await client.request(method, url, data=body, headers=headers)
    if rule.files:
        assert body is not None
        files = (
            {"file": ("stores.csv", str(body["csv"]).encode(), "text/csv")}
            if "csv" in body
            else {"file": ("photo.jpg", SMALL_JPEG, "image/jpeg")}
        )
        return await client.request(method, url, files=files, headers=headers)
    return await client.request(method, url, json=body, headers=headers)


async def test_access_matrix(client: httpx.AsyncClient, world: World) -> None:
    org_a = await world.org()
    org_b = await world.org()
    ctx = Context(client, world, org_a)
    actors = {REP: org_a.rep, SUPERVISOR: org_a.supervisor, ADMIN: org_a.admin}
    failures: list[str] = []

    def check(label: str, response: httpx.Response, expected: str) -> None:
        status = response.status_code
        ok = {
            "2xx": 200 <= status < 300,
            "401": status == 401,
            "403": status == 403,
            "409": status == 409,
            "404": status == 404,
            "422": status == 422,
        }[expected]
        if not ok:
            failures.append(f"{label}: expected {expected}, got {status} {response.text[:200]}")

    for (method, path), rule in sorted(MATRIX.items()):
        label = f"{method} {path}"
        if not rule.public:
            anonymous = await _call(client, method, path, rule, ctx, {})
            check(f"{label} anonymous", anonymous, "401")
            if anonymous.status_code == 401:
                assert anonymous.headers["content-type"] == "application/problem+json"
        for role, actor in actors.items():
            expected = "2xx" if role in rule.allowed or rule.public else rule.denied
            response = await _call(client, method, path, rule, ctx, actor.headers)
            check(f"{label} {role}", response, expected)
        if rule.public:
            continue
        foreign = await _call(client, method, path, rule, ctx, org_b.admin.headers)
        expected = rule.foreign or ("404" if "{" in path else "2xx")
        check(f"{label} other-org admin", foreign, expected)

    assert not failures, "\n".join(failures)


async def test_lists_never_show_another_orgs_objects(
    client: httpx.AsyncClient, world: World
) -> None:
    org_a = await world.org()
    org_b = await world.org()
    team = await Context(client, world, org_a).team()
    await Context(client, world, org_b).team()
    for path, key in (("/api/v1/users", "items"), ("/api/v1/teams", None)):
        response = await client.get(path, headers=org_b.admin.headers)
        assert response.status_code == 200
        body = response.json()
        items = body[key] if key else body
        assert items, path
        assert all(item["org_id"] == str(org_b.id) for item in items), path
        assert team["id"] not in {item["id"] for item in items}
