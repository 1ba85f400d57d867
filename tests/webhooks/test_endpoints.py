"""Webhook endpoints over the API: admin only, the secret shown once, the SSRF rule at save,
the OpenAPI ``webhooks`` section."""

import base64

import httpx
from fastapi import FastAPI

from backend.webhooks.event_types import WEBHOOK_EVENT_TYPES
from tests.factories.webhooks import create_endpoint
from tests.factories.world import World

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address literal: no DNS in the tests


async def test_create_shows_the_secret_once_and_lists_without_it(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    made = await create_endpoint(
        client, org, PUBLIC_URL, ["visit.submitted", "store.created"], description="ERP"
    )
    assert made["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(made["secret"][6:])) <= 32
    assert made["enabled"] is True and made["event_types"] == ["store.created", "visit.submitted"]
    listed = (await client.get("/api/v1/webhook-endpoints", headers=org.admin.headers)).json()
    assert [e["id"] for e in listed["items"]] == [made["id"]]
    assert "secret" not in listed["items"][0]
    got = await client.get(f"/api/v1/webhook-endpoints/{made['id']}", headers=org.admin.headers)
    assert got.status_code == 200 and "secret" not in got.json()

    rotated = await client.post(
        f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret", headers=org.admin.headers
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != made["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None

    patched = await client.patch(
        f"/api/v1/webhook-endpoints/{made['id']}",
        json={"event_types": ["*"], "enabled": False},
        headers=org.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["*"] and patched.json()["enabled"] is False
    test = await client.post(
        f"/api/v1/webhook-endpoints/{made['id']}/test", headers=org.admin.headers
    )
    assert test.status_code == 409  # nothing is sent to a disabled endpoint

    deleted = await client.delete(
        f"/api/v1/webhook-endpoints/{made['id']}", headers=org.admin.headers
    )
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/webhook-endpoints/{made['id']}", headers=org.admin.headers)
    assert gone.status_code == 404


async def test_only_admins_and_only_their_org(client: httpx.AsyncClient, world: World) -> None:
    org, other = await world.org(), await world.org()
    made = await create_endpoint(client, org, PUBLIC_URL)
    for actor in (org.supervisor, org.rep):
        listed = await client.get("/api/v1/webhook-endpoints", headers=actor.headers)
        assert listed.status_code == 403
        created = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": PUBLIC_URL, "event_types": ["*"]},
            headers=actor.headers,
        )
        assert created.status_code == 403
    assert (await client.get("/api/v1/webhook-endpoints")).status_code == 401
    for method, path in (
        ("GET", f"/api/v1/webhook-endpoints/{made['id']}"),
        ("GET", f"/api/v1/webhook-endpoints/{made['id']}/deliveries"),
        ("POST", f"/api/v1/webhook-endpoints/{made['id']}/test"),
        ("DELETE", f"/api/v1/webhook-endpoints/{made['id']}"),
    ):
        response = await client.request(method, path, headers=other.admin.headers)
        assert response.status_code == 404, (method, path)


REFUSED_URLS = (
    "http://93.184.215.14/hooks",  # http to a host that is not listed
    "https://localhost/hooks",  # a name resolving to loopback
    "https://10.0.0.8/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[fd00:ec2::254]/",
    "https://100.64.0.1/",
    "https://[::1]/",
    "https://user:secret@93.184.215.14/",
    "https://no-such-host.invalid/",
)


async def test_the_ssrf_rule_at_save(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for url in REFUSED_URLS:
        response = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": url, "event_types": ["*"]},
            headers=org.admin.headers,
        )
        assert response.status_code == 422, (url, response.text)
        problem = response.json()
        assert problem["code"] == "webhook_url_not_allowed", url
        assert problem["errors"][0]["pointer"] == "/url"


async def test_a_listed_host_may_be_http_and_private(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    await create_endpoint(client, org, "http://127.0.0.1:9/hooks")  # listed in the test settings
    made = await create_endpoint(client, org, PUBLIC_URL)
    patched = await client.patch(
        f"/api/v1/webhook-endpoints/{made['id']}",
        json={"url": "https://192.168.0.10/x"},
        headers=org.admin.headers,
    )
    assert patched.status_code == 422 and patched.json()["code"] == "webhook_url_not_allowed"


async def test_event_types_are_the_designs(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for bad in (["user.created"], ["*", "visit.submitted"], [], ["ping"]):
        response = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": PUBLIC_URL, "event_types": bad},
            headers=org.admin.headers,
        )
        assert response.status_code == 422, bad


def test_openapi_documents_one_webhook_per_event_type(app: FastAPI) -> None:
    document = app.openapi()
    assert document["openapi"].startswith("3.1")
    webhooks = document["webhooks"]
    assert set(webhooks) == {t.value for t in WEBHOOK_EVENT_TYPES} | {"ping"}
    schemas = document["components"]["schemas"]
    ref = webhooks["visit.checked_in"]["post"]["requestBody"]["content"]["application/json"]
    envelope = schemas[ref["schema"]["$ref"].rsplit("/", 1)[1]]
    assert envelope["required"] == ["type", "timestamp", "data"]
    assert envelope["properties"]["type"]["const"] == "visit.checked_in"
    data = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert {"store_id", "trust_score", "flags"} <= set(data["properties"])
