"""The one store factory (over the API, or as the service's input) and teams."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from backend.stores.schemas import StoreCreate
from tests.factories.world import Actor, Org

# Where the default store stands (Hangzhou, 文三路).
STORE_LAT, STORE_LNG = 30.2775, 120.1265


def store_body(**overrides: Any) -> dict[str, Any]:
    """A valid store with a fresh code; keyword arguments replace or add fields."""
    return {
        "code": f"S-{uuid.uuid4().hex[:8]}",
        "name": "益丰大药房（文三路店）",
        "address": "杭州市西湖区文三路 100 号",
        "lat": STORE_LAT,
        "lng": STORE_LNG,
        "customer_type": "pharmacy",
        **overrides,
    }


def store_input(**overrides: Any) -> StoreCreate:
    """The same store as the stores service's input, for seeding without the API."""
    return StoreCreate(**store_body(**overrides))


async def create_store(
    client: httpx.AsyncClient, admin_headers: Mapping[str, str], **overrides: Any
) -> dict[str, Any]:
    """``POST /api/v1/stores`` as an admin; the created store (its ``qr_url`` included)."""
    response = await client.post(
        "/api/v1/stores", json=store_body(**overrides), headers=dict(admin_headers)
    )
    assert response.status_code == 201, response.text
    store: dict[str, Any] = response.json()
    return store


async def create_team(
    client: httpx.AsyncClient,
    org: Org,
    name: str | None = None,
    members: Sequence[Actor] | None = None,
) -> dict[str, Any]:
    """A team the org's supervisor leads; members: the org's rep unless given."""
    response = await client.post(
        "/api/v1/teams",
        json={
            "name": name or f"team {uuid.uuid4().hex[:6]}",
            "supervisor_id": str(org.supervisor.id),
            "member_ids": [str(m.id) for m in (members if members is not None else [org.rep])],
        },
        headers=org.admin.headers,
    )
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


class Stores:
    """Stores and teams of any org, made through the API (the ``stores`` fixture)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create(self, org: Org, **overrides: Any) -> dict[str, Any]:
        return await create_store(self.client, org.admin.headers, **overrides)

    async def team(self, org: Org, name: str | None = None) -> dict[str, Any]:
        return await create_team(self.client, org, name)
