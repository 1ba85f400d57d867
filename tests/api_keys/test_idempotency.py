"""An API key's POSTs honour ``Idempotency-Key`` like a person's: the retry replays the answer
and writes nothing twice; another key cannot replay it."""

import httpx

from tests.factories.api_keys import create_api_key, key_headers
from tests.factories.stores import store_body
from tests.factories.world import World


async def test_a_keys_retried_post_is_applied_once(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    key = await create_api_key(client, org, ["stores:write", "stores:read"])
    other = await create_api_key(client, org, ["stores:write"])
    body = store_body()
    headers = {**key_headers(key), "Idempotency-Key": "erp-sync-0001"}
    first = await client.post("/api/v1/stores", json=body, headers=headers)
    assert first.status_code == 201, first.text
    retry = await client.post("/api/v1/stores", json=body, headers=headers)
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    listed = await client.get(f"/api/v1/stores?q={body['code']}", headers=key_headers(key))
    assert [s["id"] for s in listed.json()["items"]] == [first.json()["id"]]
    # The same key value with another body is a conflict, not a second store.
    changed = await client.post("/api/v1/stores", json={**body, "name": "另一家"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    # Another key's Idempotency-Key space is its own: the same value makes its own store.
    theirs = await client.post(
        "/api/v1/stores",
        json=store_body(),
        headers={**key_headers(other), "Idempotency-Key": "erp-sync-0001"},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
