"""Malformed input of every kind gets a problem+json 4xx, never a 5xx."""

import httpx
import pytest

from tests.factories.world import World

PROBLEM = "application/problem+json"


async def test_validation_errors_point_at_each_bad_field(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    response = await client.post(
        "/api/v1/users",
        json={"username": "x", "display_name": "", "role": "boss", "password": "short"},
        headers=org.admin.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["status"] == 422
    assert {"type", "title", "detail"} <= body.keys()
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/username", "/display_name", "/role", "/password"}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"username": "a\\u0000b"}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json"),
        (b'{"username": 9223372036854775808}', "application/json"),
        (b"username=x", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_are_client_errors(
    client: httpx.AsyncClient, world: World, content: bytes, content_type: str
) -> None:
    org = await world.org()
    response = await client.post(
        "/api/v1/users",
        content=content,
        headers={**org.admin.headers, "content-type": content_type},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_nul_bytes_in_strings_are_refused(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    response = await client.post(
        "/api/v1/teams",
        json={"name": "team\x00one", "supervisor_id": str(org.supervisor.id)},
        headers=org.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/name"
    login = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "a\x00b", "password": "p\x00"},
    )
    assert login.status_code == 422


async def test_huge_integers_and_bad_cursors_in_queries(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    for query in (
        "limit=9223372036854775808",
        "limit=0",
        "limit=abc",
        "cursor=%00",
        "cursor=bm90LWpzb24",
        "cursor=W10",
        "cursor=" + "A" * 600,
    ):
        response = await client.get(f"/api/v1/users?{query}", headers=org.admin.headers)
        assert response.status_code == 422, (query, response.text)
        assert response.headers["content-type"] == PROBLEM


async def test_bodies_over_the_limit_get_413(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    too_big = b'{"name": "' + b"x" * (13 * 1024 * 1024) + b'"}'
    declared = await client.post(
        "/api/v1/teams",
        content=too_big,
        headers={**org.admin.headers, "content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["code"] == "payload_too_large"

    async def stream() -> object:
        for _ in range(14):
            yield b"x" * (1024 * 1024)

    streamed = await client.post(
        "/api/v1/teams",
        content=stream(),  # type: ignore[arg-type]
        headers={**org.admin.headers, "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == PROBLEM


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong_method = await client.delete("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert len(generated.headers["x-request-id"]) == 32
