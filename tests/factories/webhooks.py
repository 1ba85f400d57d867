"""Webhook endpoints over the API, and waiting for what the sender loop does."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from tests.factories.world import Org


async def create_endpoint(
    client: httpx.AsyncClient,
    org: Org,
    url: str,
    event_types: Sequence[str] = ("*",),
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhook-endpoints",
        json={"url": url, "event_types": list(event_types), **extra},
        headers=org.admin.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(client: httpx.AsyncClient, org: Org, endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first (one page of up to 200)."""
    response = await client.get(
        f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
        params={"limit": 200},
        headers=org.admin.headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float = 10.0, every_s: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; that value, or an AssertionError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s (last: {value!r})")
        await asyncio.sleep(every_s)
