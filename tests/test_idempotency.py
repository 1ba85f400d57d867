"""The ``Idempotency-Key`` header on POSTs (DESIGN §4)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.idempotency import purge_expired
from backend.kit.time import utc_now
from backend.main import create_app
from backend.models.idempotency_key import IdempotencyKey
from backend.teams import service as team_service
from tests.conftest import Actor, Org, World


@pytest.fixture
async def org(world: World) -> Org:
    return await world.org()


def team_body(org: Org, name: str | None = None) -> dict[str, Any]:
    return {"name": name or f"Team {uuid.uuid4().hex[:6]}", "supervisor_id": str(org.supervisor.id)}


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def team_names(client: httpx.AsyncClient, org: Org) -> list[str]:
    response = await client.get("/api/v1/teams", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    return [team["name"] for team in response.json()]


async def test_a_repeated_post_is_replayed_not_run_twice(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = team_body(org, "North")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k-1"))
    second = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k-1"))

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.content == first.content
    assert await team_names(client, org) == ["North"]


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    first = await client.post(
        "/api/v1/teams", json=team_body(org, "A"), headers=keyed(org.admin, "k")
    )
    reused = await client.post(
        "/api/v1/teams", json=team_body(org, "B"), headers=keyed(org.admin, "k")
    )

    assert first.status_code == 201
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await team_names(client, org) == ["A"]


async def test_the_same_key_on_another_path_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org, "A")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "k"))
    other = await client.post("/api/v1/stores", json=body, headers=keyed(org.admin, "k"))

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_keys_belong_to_their_caller(client: httpx.AsyncClient, world: World) -> None:
    one, two = await world.org(), await world.org()

    a = await client.post("/api/v1/teams", json=team_body(one, "T"), headers=keyed(one.admin, "x"))
    b = await client.post("/api/v1/teams", json=team_body(two, "T"), headers=keyed(two.admin, "x"))
    # Another user of the same organization, same key, same request: not the admin's answer.
    c = await client.post("/api/v1/teams", json=team_body(one, "T"), headers=keyed(one.rep, "x"))

    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert c.status_code == 403
    assert "idempotent-replayed" not in c.headers
    assert await team_names(client, one) == ["T"]
    assert await team_names(client, two) == ["T"]


async def test_a_4xx_answer_is_replayed_too(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org)
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.rep, "r"))
    second = await client.post("/api/v1/teams", json=body, headers=keyed(org.rep, "r"))

    assert first.status_code == 403
    assert second.status_code == 403
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


async def test_without_a_key_nothing_changes(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org, "Solo")
    first = await client.post("/api/v1/teams", json=body, headers=org.admin.headers)
    second = await client.post("/api/v1/teams", json=body, headers=org.admin.headers)

    assert first.status_code == 201
    assert second.status_code == 409  # the name is taken: the request really ran twice
    assert "idempotent-replayed" not in second.headers
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_without_a_valid_token_the_request_passes_through(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        "/api/v1/teams",
        json=team_body(org),
        headers={"Authorization": "Bearer nope", "Idempotency-Key": "k"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("key", ["x" * 256, "bad\x01key", "tab\tkey", "caf\u00e9"])
async def test_an_invalid_key_is_a_validation_error(
    client: httpx.AsyncClient, org: Org, key: str
) -> None:
    headers = [(k.encode(), v.encode()) for k, v in org.admin.headers.items()]
    headers.append((b"idempotency-key", key.encode("latin-1")))
    response = await client.post("/api/v1/teams", json=team_body(org), headers=headers)

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["pointer"] == "/header/idempotency-key"
    assert await team_names(client, org) == []


async def test_an_empty_key_is_a_validation_error(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post("/api/v1/teams", json=team_body(org), headers=keyed(org.admin, ""))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/header/idempotency-key"


async def test_a_key_of_255_printable_characters_is_accepted(
    client: httpx.AsyncClient, org: Org
) -> None:
    key = ("~ !" * 100)[:255]
    response = await client.post(
        "/api/v1/teams", json=team_body(org), headers=keyed(org.admin, key)
    )
    assert response.status_code == 201, response.text


async def test_concurrent_identical_requests_run_once(client: httpx.AsyncClient, org: Org) -> None:
    body = team_body(org, "Rush")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "rush"))
            for _ in range(10)
        )
    )

    fresh = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    busy = [r for r in responses if r.status_code == 409]
    assert len(fresh) == 1
    assert len(fresh) + len(replayed) + len(busy) == 10
    assert all(r.content == fresh[0].content for r in replayed)
    for response in busy:
        assert response.json()["code"] == "conflict"
        assert response.headers["retry-after"] == "1"
    assert await team_names(client, org) == ["Rush"]


async def test_a_request_in_progress_answers_409(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org)
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "p"))
    assert first.status_code == 201
    async with session_scope(sessionmaker) as session:
        await session.execute(update(IdempotencyKey).values(status="in_progress"))

    busy = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "p"))
    assert busy.status_code == 409
    assert busy.json()["code"] == "conflict"
    assert busy.headers["retry-after"] == "1"


async def test_a_server_error_releases_the_key(
    app: FastAPI,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = team_body(org, "Again")
    headers = keyed(org.admin, "retry")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with monkeypatch.context() as patch:
            patch.setattr(team_service, "create_team", broken)
            failed = await client.post("/api/v1/teams", json=body, headers=headers)
        assert failed.status_code == 500
        async with session_scope(sessionmaker) as session:
            assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0

        retried = await client.post("/api/v1/teams", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers


async def test_keys_expire_after_a_day(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = team_body(org, "Old")
    first = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "old"))
    assert first.status_code == 201
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utc_now() - timedelta(hours=25))
        )

    # An expired key is no longer remembered: the request runs again (and the name is taken).
    again = await client.post("/api/v1/teams", json=body, headers=keyed(org.admin, "old"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert "idempotent-replayed" not in again.headers

    async with session_scope(sessionmaker) as session:
        assert await purge_expired(session, utc_now()) == 0  # the 409 was stored just now
        assert await purge_expired(session, utc_now() + timedelta(hours=25)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_a_streamed_body_over_the_limit_is_413(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1024})
    application = create_app(small)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            org = await World(client, application.state.sessionmaker).org()

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(4):
                    yield b"x" * 512

            response = await client.post(
                "/api/v1/teams",
                content=chunks(),
                headers={**keyed(org.admin, "big"), "Content-Type": "application/json"},
            )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
