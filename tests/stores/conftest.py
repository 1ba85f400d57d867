"""Helpers for the stores tests: make stores and teams through the API."""

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Org

SHANGHAI = (31.2304, 121.4737)


class Stores:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create(self, org: Org, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": f"S-{uuid.uuid4().hex[:8]}",
            "name": "老百姓大药房（南京东路店）",
            "address": "上海市黄浦区南京东路 100 号",
            "lat": SHANGHAI[0],
            "lng": SHANGHAI[1],
            "customer_type": "pharmacy",
        }
        body.update(overrides)
        response = await self.client.post("/api/v1/stores", json=body, headers=org.admin.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def team(self, org: Org, name: str | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/teams",
            json={
                "name": name or f"team {uuid.uuid4().hex[:6]}",
                "supervisor_id": str(org.supervisor.id),
                "member_ids": [str(org.rep.id)],
            },
            headers=org.admin.headers,
        )
        assert response.status_code == 201, response.text
        team: dict[str, Any] = response.json()
        return team


@pytest.fixture
def stores(client: httpx.AsyncClient) -> Stores:
    return Stores(client)
