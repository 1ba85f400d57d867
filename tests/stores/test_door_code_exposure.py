"""The door code stays on the door: no answer a rep or a supervisor can get holds a store's code.

A store's signed QR token (the part of ``qr_url`` after ``/q/``) is what proves a phone stood in
front of the printed code. Whoever reads it from the server can check in from anywhere, so it is
given to admins only (their store answers, QR images and posters). This walks every GET route
of the app, enumerated from ``app.routes`` (so a new route is walked without anyone listing it),
as a rep, another rep, a supervisor and an anonymous caller, over a world with stores, a team,
approved, rejected and open visits with photos, answers and next actions, notifications and a
share link. It fails if any body or header holds any store's token, or if one of them gets a
picture (which could draw a code where no text search sees it) from a route not known to carry
none.
"""

import itertools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.models import Event, Organization, Store
from backend.ops import docs
from backend.stores import qr
from tests.factories.audit_tours import Tour
from tests.factories.forms import fill_form
from tests.factories.stores import create_team
from tests.factories.visits import KINDS, Field, iso, photo_set
from tests.factories.world import Actor, Org, World

PHOTOS = photo_set(70, (480, 360))
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

# Query strings walked besides the bare path (a stale key fails the test, like a missing value).
EXTRA_QUERIES: dict[str, tuple[str, ...]] = {
    "/api/v1/stores": ("near=30.2775,120.1265", "near=30.2775,120.1265&limit=1", "q=益丰"),
    "/api/v1/stores/{store_id}/timeline": ("days=90",),
    "/api/v1/visits": ("status=submitted", "status=open", "flagged=true"),
    "/api/v1/next-actions": ("assignee=me", "status=open"),
    "/api/v1/rectifications": ("assignee=me", "status=open"),
    "/api/v1/visits/{visit_id}/summary.png": ("locale=en",),
    "/s/{token}": ("locale=en",),
}

# Answers a text search cannot read (a QR image or a poster draws the code, it does not spell it).
# A rep or a supervisor may get one only from these routes, whose pictures are photos and cards
# that never draw a door code; a new binary route they can reach fails the walk until it is
# listed here (or made admin-only, like the QR images and posters).
PICTURES_WITHOUT_CODE = frozenset(
    {
        "/api/v1/visits/{visit_id}/photos/{kind}",
        "/api/v1/visits/{visit_id}/photos/{kind}/thumb",
        "/api/v1/visits/{visit_id}/summary.png",
        "/s/{token}/photos/{kind}",
        "/api/v1/audits/{audit_id}/items/{item_key}/photo",
        "/api/v1/rectifications/{rectification_id}/before-photo",
        "/api/v1/rectifications/{rectification_id}/after-photo",
    }
)
_PICTURE_TYPES = ("image/", "application/pdf", "application/octet-stream")

# What each role must be able to read (2xx at least once), so a walk that only collected 401s
# and 403s cannot pass: these are the answers that used to carry ``qr_url``, and their company.
MUST_READ = (
    "/api/v1/stores",
    "/api/v1/stores/{store_id}",
    "/api/v1/stores/{store_id}/timeline",
    "/api/v1/visits",
    "/api/v1/visits/{visit_id}",
    "/api/v1/visits/{visit_id}/summary",
    "/api/v1/next-actions",
    "/api/v1/notifications",
    "/api/v1/rectifications",
    "/api/v1/rectifications/{rectification_id}",
    "/s/{token}",
)


@dataclass
class Scene:
    """Org A's world (org B has a store too: its code must not leak either)."""

    org: Org
    values: dict[str, list[str]]  # path parameter -> the real values to walk
    store_urls: list[str]  # every qr_url an admin was ever given, rotated ones included


def get_routes(app: FastAPI) -> list[str]:
    """Every GET path the app answers, included routers and non-schema routes alike."""
    paths = {
        str(route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None and "GET" in (route.methods or set())
    }
    return sorted(paths)


async def _post(client: httpx.AsyncClient, url: str, actor: Actor, **kwargs: Any) -> Any:
    response = await client.post(url, headers=actor.headers, **kwargs)
    assert response.status_code in (200, 201), (url, response.text)
    return response.json()


async def _put(client: httpx.AsyncClient, url: str, actor: Actor, **kwargs: Any) -> Any:
    response = await client.put(url, headers=actor.headers, **kwargs)
    assert response.status_code in (200, 201), (url, response.text)
    return response.json()


async def _visit(
    field: Field, store: dict[str, Any], rep: Actor, *, kinds: tuple[str, ...] = KINDS
) -> dict[str, Any]:
    """A rep's visit checked in at ``store`` (with the code an admin read), with photos; with
    every kind of photo also its answers and next action."""
    response = await field.check_in(field.check_in_body(store), rep)
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    base = f"/api/v1/visits/{visit['id']}"
    for kind in kinds:
        files = {"file": (f"{kind}.jpg", PHOTOS[kind], "image/jpeg")}
        await _put(field.client, f"{base}/photos/{kind}", rep, files=files)
    if kinds == KINDS:
        answers = fill_form(visit["form"]["fields"])
        await _put(field.client, f"{base}/answers", rep, json={"answers": answers})
        due = datetime.fromisoformat(visit["checked_in_at"]) + timedelta(days=2)
        action = {"id": str(uuid.uuid4()), "type": "send_sample", "due_at": iso(due), "note": "样"}
        visit["next_action"] = await _put(field.client, f"{base}/next-action", rep, json=action)
    return visit


async def build_scene(client: httpx.AsyncClient, world: World) -> Scene:
    org, other = await world.org(), await world.org()
    team = await create_team(
        client, org, f"杭州一组 {uuid.uuid4().hex[:4]}", members=[org.rep, org.other_rep]
    )
    field = Field(client, org)
    approved_at = await field.store(team_id=team["id"])
    rejected_at = await field.store(team_id=team["id"], lat=30.2776)
    open_at = await field.store()  # no team
    foreign = await Field(client, other).store()
    urls = [s["qr_url"] for s in (approved_at, rejected_at, open_at, foreign)]
    rotated = await _post(client, f"/api/v1/stores/{open_at['id']}/qr/rotate", org.admin)
    open_at = {**open_at, "qr_url": rotated["qr_url"]}
    urls.append(open_at["qr_url"])

    approved = await _visit(field, approved_at, org.rep)
    await _post(client, f"/api/v1/visits/{approved['id']}/submit", org.rep)
    await _post(
        client, f"/api/v1/visits/{approved['id']}/approve", org.supervisor, json={"comment": "好"}
    )
    rejected = await _visit(field, rejected_at, org.rep)
    await _post(client, f"/api/v1/visits/{rejected['id']}/submit", org.rep)
    await _post(
        client, f"/api/v1/visits/{rejected['id']}/reject", org.supervisor, json={"reason": "重拍"}
    )
    still_open = await _visit(field, open_at, org.other_rep, kinds=("storefront",))
    share = await _post(client, f"/api/v1/visits/{approved['id']}/share", org.rep)
    inbox = await client.get("/api/v1/notifications", headers=org.rep.headers)
    assert inbox.json()["items"], "the rejection should have notified the rep"
    # An audit tour of the approved visit's store with a failed item raised for the rep.
    tours = Tour(client, org, approved_at, team)
    audit = await tours.started()
    failed = next(i["key"] for i in audit["template"]["items"] if i["photo"] == "on_fail")
    await tours.complete(audit, fail={failed})
    submitted = await tours.submit(
        audit["id"], {"rectifications": [{"item_key": failed, "assignee_id": str(org.rep.id)}]}
    )
    assert submitted.status_code == 200, submitted.text
    calendar = await client.get("/api/v1/calendar-feed", headers=org.rep.headers)

    values = {
        "store_id": [approved_at["id"], open_at["id"]],
        "visit_id": [approved["id"], rejected["id"], still_open["id"]],
        "kind": list(KINDS),
        "action_id": [approved["next_action"]["id"], rejected["next_action"]["id"]],
        "team_id": [team["id"]],
        "user_id": [str(org.rep.id)],
        "key": [approved_at["customer_type"]],
        "token": [
            share["url"].rsplit("/s/", 1)[1],
            calendar.json()["url"].rsplit("/cal/", 1)[1].removesuffix(".ics"),
        ],
        "audit_id": [audit["id"]],
        "item_key": [failed],
        "rectification_id": [r["id"] for r in submitted.json()["rectifications"]],
        # Admin-only routes: any id walks them (a rep or supervisor is refused first).
        "key_id": [str(uuid.uuid4())],
        "endpoint_id": [str(uuid.uuid4())],
        "delivery_id": [str(uuid.uuid4())],
        "path": ["index.html", "sw.js", "manifest.webmanifest", "admin/stores"],
        "notification_id": [inbox.json()["items"][0]["id"]],
        "version": [docs.assets_version()],
        "name": sorted(docs.ASSETS),
    }
    return Scene(org, values, urls)


async def door_codes(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, seen: list[str]
) -> set[str]:
    """Every store's current token, from the database, plus every code an admin was shown."""
    needles = {url.rsplit("/q/", 1)[1] for url in seen} | set(seen)
    async with session_scope(sessionmaker) as session:
        rows = (await session.execute(select(Store, Organization).join(Organization))).all()
        for store, organization in rows:
            needles.add(qr.token_for(settings, organization, store))
    assert all(len(n) >= qr.TOKEN_LENGTH for n in needles)
    return needles


def leaks(response: httpx.Response, needles: set[str]) -> list[str]:
    """Where in the answer a door code shows: its body (as bytes, so images and PDFs count) or a
    header."""
    found = []
    for needle in needles:
        if needle.encode() in response.content:
            found.append("body")
        for name, value in response.headers.items():
            if needle in value:
                found.append(f"header {name}")
    return found


def _fill(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda match: values[match.group(1)], path)


def urls_for(path: str, values: dict[str, list[str]]) -> list[str]:
    names = _PARAM.findall(path)
    missing = [n for n in names if n not in values]
    assert not missing, f"{path}: give the walk real values for {missing}"
    urls = []
    for combo in itertools.product(*(values[n] for n in names)):
        urls.append(_fill(path, dict(zip(names, combo, strict=True))))
    queries = EXTRA_QUERIES.get(path, ())
    return urls + [f"{url}?{query}" for url in urls for query in queries]


async def test_no_answer_to_a_rep_or_supervisor_holds_a_door_code(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    scene = await build_scene(client, world)
    needles = await door_codes(sessionmaker, settings, scene.store_urls)
    paths = get_routes(app)
    documented = {p for p, ops in app.openapi()["paths"].items() if "get" in ops}
    assert documented <= set(paths), documented - set(paths)
    assert not EXTRA_QUERIES.keys() - set(paths), "EXTRA_QUERIES names a route that is gone"
    assert not set(MUST_READ) - set(paths), "MUST_READ names a route that is gone"
    assert not PICTURES_WITHOUT_CODE - set(paths), "PICTURES_WITHOUT_CODE names a gone route"

    callers: dict[str, dict[str, str]] = {
        "rep": scene.org.rep.headers,
        "other rep": scene.org.other_rep.headers,
        "supervisor": scene.org.supervisor.headers,
        "anonymous": {},
    }
    failures: list[str] = []
    read: dict[str, set[str]] = {role: set() for role in callers}
    calls = 0
    for path in paths:
        for url in urls_for(path, scene.values):
            for role, headers in callers.items():
                response = await client.get(url, headers=headers)
                calls += 1
                assert response.status_code < 500, (role, url, response.text[:300])
                if response.is_success:
                    read[role].add(path)
                for where in leaks(response, needles):
                    failures.append(f"{role} GET {url} ({response.status_code}): code in {where}")
                kind = response.headers.get("content-type", "")
                if (
                    response.is_success
                    and kind.startswith(_PICTURE_TYPES)
                    and path not in PICTURES_WITHOUT_CODE
                ):
                    failures.append(f"{role} GET {url}: a {kind} answer that may draw a code")
    assert not failures, "door codes leaked:\n" + "\n".join(sorted(set(failures)))
    for role in ("rep", "supervisor"):
        unread = set(MUST_READ) - read[role]
        assert not unread, f"the walk never got a 2xx as {role} from {sorted(unread)}"
    assert calls > 4 * len(paths)

    # Nor does anything written for later readers (the change feed, webhooks) hold one.
    async with session_scope(sessionmaker) as session:
        payloads = json.dumps([e.payload for e in await session.scalars(select(Event))])
    assert not [n for n in needles if n in payloads]


async def test_admin_reads_the_door_code(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org = await world.org()
    store = await Field(client, org).store()
    assert store["qr_url"].startswith(f"{settings.public_base}/q/")
    token = store["qr_url"].rsplit("/q/", 1)[1]
    assert token in await door_codes(sessionmaker, settings, [])

    got = await client.get(f"/api/v1/stores/{store['id']}", headers=org.admin.headers)
    assert got.status_code == 200
    assert got.json()["qr_url"] == store["qr_url"]
    for query in ("", "?near=30.2775,120.1265"):
        listed = await client.get(f"/api/v1/stores{query}", headers=org.admin.headers)
        assert [s["qr_url"] for s in listed.json()["items"]] == [store["qr_url"]]
        # The walk's detector sees the code where it is given.
        assert leaks(listed, {token}) == ["body"]

    for actor in (org.rep, org.supervisor):
        seen = await client.get(f"/api/v1/stores/{store['id']}", headers=actor.headers)
        assert seen.status_code == 200
        assert seen.json()["qr_url"] is None
        for printable in ("qr.png", "qr.svg", "poster.pdf"):
            url = f"/api/v1/stores/{store['id']}/{printable}"
            assert (await client.get(url, headers=actor.headers)).status_code == 403
        posters = await client.post(
            "/api/v1/stores/posters.pdf", json={"store_ids": [store["id"]]}, headers=actor.headers
        )
        assert posters.status_code == 403
    timeline = await client.get(f"/api/v1/stores/{store['id']}/timeline", headers=org.admin.headers)
    assert timeline.json()["store"]["qr_url"] is None  # only the stores endpoints give it
