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


def answer_for(spec: dict[str, Any]) -> Any:
    """A valid answer for one field or table column of a form definition."""
    kind = spec["type"]
    low = spec.get("min")
    if kind in ("text", "textarea"):
        return "货架整洁"
    if kind == "integer":
        return int(low) if low is not None else 3
    if kind == "number":
        return float(low) if low is not None else 12.5
    if kind == "boolean":
        return True
    if kind == "choice":
        return spec["options"][0]["value"]
    if kind == "multi_choice":
        return [spec["options"][0]["value"]]
    if kind == "date":
        return "2026-11-30"
    if kind == "string_list":
        return ["布洛芬缓释胶囊 0.3g×20粒"]
    if kind == "table":
        return [{column["key"]: answer_for(column) for column in spec["columns"]}]
    raise AssertionError(f"unknown field type {kind}")


def fill_form(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Answers for every field whose visible_if holds, in form order (earlier fields first)."""
    answers: dict[str, Any] = {}
    for spec in fields:
        condition = spec.get("visible_if")
        if condition:
            value = answers.get(condition["field"])
            shown = (
                value == condition["equals"]
                if "equals" in condition
                else (value in condition.get("in", []))
            )
            if not shown:
                continue
        answers[spec["key"]] = answer_for(spec)
    return answers
