import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.kit.time import utc_now
from tests.conftest import Actor, Org, World

STORE_LAT, STORE_LNG = 30.2775, 120.1265
METRES_PER_DEGREE_LAT = 111_195.0


def north(metres: float, lat: float = STORE_LAT) -> float:
    return lat + metres / METRES_PER_DEGREE_LAT


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass
class Field:
    client: httpx.AsyncClient
    org: Org

    async def store(
        self, lat: float = STORE_LAT, lng: float = STORE_LNG, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "code": f"S-{uuid.uuid4().hex[:8]}",
            "name": "益丰大药房（文三路店）",
            "address": "杭州市西湖区文三路 100 号",
            "lat": lat,
            "lng": lng,
            "customer_type": "pharmacy",
            **extra,
        }
        response = await self.client.post(
            "/api/v1/stores", json=body, headers=self.org.admin.headers
        )
        assert response.status_code == 201, response.text
        store: dict[str, Any] = response.json()
        return store

    def check_in_body(
        self,
        store: dict[str, Any],
        *,
        lat: float | None = None,
        lng: float | None = None,
        accuracy_m: float = 15.0,
        captured_at: datetime | None = None,
        device_time: datetime | None = None,
        queued_offline: bool = False,
        visit_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        now = utc_now()
        device_time = device_time or now
        return {
            "id": str(visit_id or uuid.uuid4()),
            "qr": store["qr_url"],
            "position": {
                "lat": store["lat"] if lat is None else lat,
                "lng": store["lng"] if lng is None else lng,
                "accuracy_m": accuracy_m,
                "captured_at": iso(captured_at or device_time - timedelta(seconds=3)),
            },
            "device_time": iso(device_time),
            "queued_offline": queued_offline,
        }

    async def check_in(self, body: dict[str, Any], actor: Actor | None = None) -> httpx.Response:
        actor = actor or self.org.rep
        return await self.client.post("/api/v1/visits", json=body, headers=actor.headers)


@pytest.fixture
async def field(client: httpx.AsyncClient, world: World) -> Field:
    return Field(client, await world.org())
