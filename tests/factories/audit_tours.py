"""Audit tours over the API: a store in a team the org's supervisor leads, the start body (the
check-in body: the same door), results that pass or fail every item, photos and submit."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Unpack

import httpx

from tests.factories.images import encode, synthetic_photo
from tests.factories.stores import create_store, create_team
from tests.factories.visits import CheckInOptions, check_in_body
from tests.factories.world import Actor, Org


def item_photo(seed: int) -> bytes:
    return encode(synthetic_photo(seed, (640, 480)), "JPEG", quality=80)


def passing(item: dict[str, Any]) -> dict[str, Any]:
    """A result that passes the item."""
    if item["kind"] == "check":
        return {"result": "pass"}
    if item["kind"] == "scale":
        return {"value": item["scale_max"]}
    low, high = item.get("min"), item.get("max")
    return {"value": high if high is not None else (low if low is not None else 0)}


def failing(item: dict[str, Any]) -> dict[str, Any]:
    """A result that fails the item."""
    if item["kind"] == "check":
        return {"result": "fail"}
    if item["kind"] == "scale":
        return {"value": 0}
    low, high = item.get("min"), item.get("max")
    if low is not None:
        return {"value": low - 1}
    assert high is not None, "a number item has at least one bound"
    return {"value": high + 1}


def results_for(items: list[dict[str, Any]], fail: Collection[str] = ()) -> dict[str, Any]:
    return {i["key"]: (failing(i) if i["key"] in fail else passing(i)) for i in items}


def photos_needed(items: list[dict[str, Any]], fail: Collection[str]) -> list[str]:
    return [
        i["key"]
        for i in items
        if i["photo"] == "required" or (i["photo"] == "on_fail" and i["key"] in fail)
    ]


@dataclass
class Tour:
    """A store of org ``org`` in a team its supervisor leads (the org's reps are members)."""

    client: httpx.AsyncClient
    org: Org
    store: dict[str, Any]
    team: dict[str, Any]

    def body(
        self, store: dict[str, Any] | None = None, *, lat: float | None = None,
        lng: float | None = None, template_key: str | None = None,
        **options: Unpack[CheckInOptions],
    ) -> dict[str, Any]:  # fmt: skip
        store = store or self.store
        body = check_in_body(
            store["qr_url"],
            store["lat"] if lat is None else lat,
            store["lng"] if lng is None else lng,
            **options,
        )
        if template_key is not None:
            body["template_key"] = template_key
        return body

    async def start(
        self, body: dict[str, Any] | None = None, actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.supervisor
        return await self.client.post(
            "/api/v1/audits", json=body or self.body(), headers=actor.headers
        )

    async def started(self, actor: Actor | None = None) -> dict[str, Any]:
        response = await self.start(actor=actor)
        assert response.status_code == 201, response.text
        audit: dict[str, Any] = response.json()
        return audit

    async def results(
        self, audit_id: str, results: dict[str, Any], actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.supervisor
        return await self.client.put(
            f"/api/v1/audits/{audit_id}/results", json={"results": results}, headers=actor.headers
        )

    async def photo(
        self, audit_id: str, item_key: str, data: bytes, actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.supervisor
        return await self.client.put(
            f"/api/v1/audits/{audit_id}/items/{item_key}/photo",
            files={"file": ("item.jpg", data, "image/jpeg")},
            headers=actor.headers,
        )

    async def submit(
        self, audit_id: str, body: dict[str, Any] | None = None, actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.supervisor
        return await self.client.post(
            f"/api/v1/audits/{audit_id}/submit", json=body or {}, headers=actor.headers
        )

    async def complete(
        self, audit: dict[str, Any], fail: Collection[str] = (), seed: int = 0
    ) -> None:
        """Results for every item (``fail`` failing) and every photo the checklist asks for."""
        items = audit["template"]["items"]
        response = await self.results(audit["id"], results_for(items, fail))
        assert response.status_code == 200, response.text
        for n, key in enumerate(photos_needed(items, fail)):
            response = await self.photo(audit["id"], key, item_photo(seed * 100 + n))
            assert response.status_code == 201, response.text


async def tour(client: httpx.AsyncClient, org: Org, **store: Any) -> Tour:
    team = await create_team(
        client, org, name=f"team {uuid.uuid4().hex[:6]}", members=[org.rep, org.other_rep]
    )
    made = await create_store(client, org.admin.headers, team_id=team["id"], **store)
    return Tour(client, org, made, team)
