"""API keys, made by an org's admin over the API."""

from collections.abc import Iterable
from typing import Any

import httpx

from backend.api_keys.scopes import Scope
from tests.factories.world import Org

ALL_SCOPES = tuple(s.value for s in Scope)


async def create_api_key(
    client: httpx.AsyncClient, org: Org, scopes: Iterable[str] = ALL_SCOPES, **fields: Any
) -> dict[str, Any]:
    """``POST /api/v1/api-keys`` as the org's admin; the answer (with ``key``, shown once)."""
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "ERP sync", "scopes": list(scopes), **fields},
        headers=org.admin.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def key_headers(created: dict[str, Any] | str) -> dict[str, str]:
    key = created if isinstance(created, str) else created["key"]
    return {"Authorization": f"Bearer {key}"}
