"""Making, listing and revoking API keys; which keys a request is refused with."""

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.api_keys import keys
from backend.config import Settings
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import ApiKey
from tests.factories.api_keys import create_api_key, key_headers
from tests.factories.world import World

STORES = "/api/v1/stores"


def assert_refused_key(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_key_is_shown_once_and_stored_only_as_a_keyed_hash(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    created = await create_api_key(client, org, ["stores:read", "visits:read"], name="BI")
    key = created["key"]
    assert key.startswith("dsk_") and len(key) == 4 + 32 + 43
    assert key[4:36] == uuid.UUID(created["id"]).hex
    assert created["prefix"] == key[:12]
    assert created["scopes"] == ["stores:read", "visits:read"]
    assert created["rate_per_minute"] == 600 and created["burst"] == 60
    assert created["last_used_at"] is None and created["expires_at"] is None

    listed = await client.get("/api/v1/api-keys", headers=org.admin.headers)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert item["id"] == created["id"] and item["prefix"] == created["prefix"]
    assert item["revoked_at"] is None
    assert "key" not in item
    assert key not in listed.text

    async with session_scope(sessionmaker) as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
    assert row is not None
    assert row.key_hash == keys.key_hash(settings.secret, key)
    assert key.encode() not in row.key_hash and row.key_hash != key.encode()
    assert row.created_by == org.admin.id


async def test_list_is_newest_first_per_org_and_paginates(
    client: httpx.AsyncClient, world: World
) -> None:
    org, other = await world.org(), await world.org()
    made = [await create_api_key(client, org, ["stores:read"], name=f"k{i}") for i in range(3)]
    await create_api_key(client, other, ["stores:read"])
    first = (await client.get("/api/v1/api-keys?limit=2", headers=org.admin.headers)).json()
    assert [k["name"] for k in first["items"]] == ["k2", "k1"]
    assert first["next_cursor"]
    rest = await client.get(
        f"/api/v1/api-keys?limit=2&cursor={first['next_cursor']}", headers=org.admin.headers
    )
    assert [k["id"] for k in rest.json()["items"]] == [made[0]["id"]]
    assert rest.json()["next_cursor"] is None


async def test_a_revoked_key_is_refused_on_its_very_next_request(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    created = await create_api_key(client, org, ["stores:read"])
    assert (await client.get(STORES, headers=key_headers(created))).status_code == 200

    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=org.admin.headers)
    assert revoked.status_code == 204, revoked.text
    assert_refused_key(await client.get(STORES, headers=key_headers(created)))

    listed = (await client.get("/api/v1/api-keys", headers=org.admin.headers)).json()["items"]
    assert listed[0]["revoked_at"] is not None
    again = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=org.admin.headers)
    assert again.status_code == 204
    relisted = (await client.get("/api/v1/api-keys", headers=org.admin.headers)).json()["items"]
    assert relisted[0]["revoked_at"] == listed[0]["revoked_at"]


async def test_another_orgs_key_cannot_be_revoked(client: httpx.AsyncClient, world: World) -> None:
    org, other = await world.org(), await world.org()
    created = await create_api_key(client, org, ["stores:read"])
    response = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=other.admin.headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    assert (await client.get(STORES, headers=key_headers(created))).status_code == 200


async def test_an_expired_key_is_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    later = (utc_now() + timedelta(days=30)).isoformat()
    created = await create_api_key(client, org, ["stores:read"], expires_at=later)
    assert created["expires_at"] is not None
    assert (await client.get(STORES, headers=key_headers(created))).status_code == 200
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(created["id"]))
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    assert_refused_key(await client.get(STORES, headers=key_headers(created)))


async def test_wrong_unknown_and_malformed_keys_are_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    created = await create_api_key(client, org, ["stores:read"])
    real = created["key"]
    flipped = real[:-1] + ("A" if real[-1] != "A" else "B")  # the real id, a wrong secret
    unknown = keys.new_key(uuid.uuid4())
    for bad in (flipped, unknown, real[:-1], real + "x", "dsk_", "dsk_" + "z" * 75):
        assert_refused_key(await client.get(STORES, headers=key_headers(bad)))
    assert (await client.get(STORES, headers=key_headers(real))).status_code == 200


async def test_create_refuses_unknown_scopes_and_past_expiry_with_pointers(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    unknown = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "scopes": ["stores:read", "stores:delete"]},
        headers=org.admin.headers,
    )
    assert unknown.status_code == 422, unknown.text
    assert [e["pointer"] for e in unknown.json()["errors"]] == ["/scopes/1"]

    past = await client.post(
        "/api/v1/api-keys",
        json={
            "name": "x",
            "scopes": ["stores:read"],
            "expires_at": (utc_now() - timedelta(minutes=1)).isoformat(),
        },
        headers=org.admin.headers,
    )
    assert past.status_code == 422, past.text
    assert past.json()["errors"][0]["pointer"] == "/expires_at"

    empty = await client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": []}, headers=org.admin.headers
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["pointer"] == "/scopes"


async def test_repeated_scopes_count_once_and_limits_are_settable(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    created = await create_api_key(
        client,
        org,
        ["visits:read", "stores:read", "visits:read"],
        rate_per_minute=120,
        burst=10,
    )
    assert created["scopes"] == ["stores:read", "visits:read"]
    assert (created["rate_per_minute"], created["burst"]) == (120, 10)


async def test_only_admins_manage_keys(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for actor in (org.supervisor, org.rep):
        for method, path in (("POST", ""), ("GET", ""), ("DELETE", f"/{uuid.uuid4()}")):
            response = await client.request(
                method,
                "/api/v1/api-keys" + path,
                json={"name": "x", "scopes": ["stores:read"]} if method == "POST" else None,
                headers=actor.headers,
            )
            assert response.status_code == 403, (actor.role, method, response.text)
    assert (await client.get("/api/v1/api-keys")).status_code == 401


async def test_last_used_at_is_written_once_a_minute_not_per_request(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    created = await create_api_key(client, org, ["stores:read"])
    key_id = uuid.UUID(created["id"])

    async def last_used() -> datetime | None:
        async with session_scope(sessionmaker) as session:
            return await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))

    before = utc_now()
    await client.get(STORES, headers=key_headers(created))
    first = await last_used()
    assert first is not None and first >= before - timedelta(seconds=1)
    for _ in range(3):
        await client.get(STORES, headers=key_headers(created))
    assert await last_used() == first

    a_while_ago = utc_now() - timedelta(minutes=2)
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=a_while_ago)
        )
    await client.get(STORES, headers=key_headers(created))
    refreshed = await last_used()
    assert refreshed is not None and refreshed > a_while_ago + timedelta(minutes=1)
    listed = (await client.get("/api/v1/api-keys", headers=org.admin.headers)).json()["items"]
    assert listed[0]["last_used_at"] is not None
