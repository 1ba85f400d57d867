"""``kit.idempotency`` on its own: the middleware gets its caller reader and its claim store from
whoever builds the app, so it runs here with neither a database nor a domain."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.kit.body_fingerprint import body_fingerprint
from backend.kit.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    Claim,
    HeldKey,
    IdempotencyMiddleware,
    KeyedRequest,
    StoredResponse,
)


@dataclass(frozen=True)
class Caller:
    org_id: uuid.UUID
    user_id: uuid.UUID


ALICE = Caller(uuid.uuid4(), uuid.uuid4())
GONE = Caller(uuid.uuid4(), uuid.uuid4())
TOKENS = {"alice": ALICE, "gone": GONE}


async def read_caller(token: str) -> Caller | None:
    return TOKENS.get(token)


@dataclass
class MemoryClaims:
    """A ClaimStore in a dict: the contract the SQL store keeps, nothing more."""

    rows: dict[tuple[uuid.UUID, uuid.UUID, str], HeldKey] = field(default_factory=dict)
    times: list[datetime] = field(default_factory=list)
    unknown: set[uuid.UUID] = field(default_factory=set)

    @staticmethod
    def _key(request: KeyedRequest) -> tuple[uuid.UUID, uuid.UUID, str]:
        return request.caller.org_id, request.caller.user_id, request.key

    async def claim(self, request: KeyedRequest, now: datetime) -> Claim | HeldKey:
        self.times.append(now)
        if request.caller.user_id in self.unknown:
            return Claim.unknown_caller
        held = self.rows.get(self._key(request))
        if held is not None:
            return held
        self.rows[self._key(request)] = HeldKey(
            request.method, request.path, request.body_sha256, IN_PROGRESS, None, None, None
        )
        return Claim.claimed

    async def complete(
        self, request: KeyedRequest, response: StoredResponse, now: datetime
    ) -> None:
        self.times.append(now)
        held = self.rows[self._key(request)]
        self.rows[self._key(request)] = HeldKey(
            held.method,
            held.path,
            held.body_sha256,
            COMPLETED,
            response.status,
            response.content_type,
            response.body,
        )

    async def release(self, request: KeyedRequest) -> None:
        del self.rows[self._key(request)]


@dataclass
class Harness:
    claims: MemoryClaims
    calls: list[Any]
    client: httpx.AsyncClient


def harness() -> Harness:
    claims = MemoryClaims()
    calls: list[Any] = []

    async def create(request: Request) -> Response:
        body = await request.json()
        calls.append(body)
        if body.get("fail"):
            return JSONResponse({"error": "boom"}, status_code=503)
        return JSONResponse({"n": len(calls), **body}, status_code=201)

    app = Starlette(routes=[Route("/api/v1/things", create, methods=["POST"])])
    wrapped = IdempotencyMiddleware(
        app, read_caller=read_caller, claims=claims, max_body_bytes=1024
    )
    transport = httpx.ASGITransport(app=wrapped)
    return Harness(claims, calls, httpx.AsyncClient(transport=transport, base_url="http://test"))


def headers(token: str, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


async def test_the_store_it_is_given_replays_a_repeated_post() -> None:
    h = harness()
    async with h.client as client:
        first = await client.post("/api/v1/things", json={"a": 1}, headers=headers("alice", "k"))
        again = await client.post("/api/v1/things", json={"a": 1}, headers=headers("alice", "k"))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert h.calls == [{"a": 1}]
    # The middleware is the time boundary: the store is handed the request's clock reading.
    assert all(t.tzinfo is not None for t in h.claims.times) and len(h.claims.times) == 3


async def test_another_body_is_refused_and_a_running_claim_is_busy() -> None:
    h = harness()
    async with h.client as client:
        await client.post("/api/v1/things", json={"a": 1}, headers=headers("alice", "k"))
        reused = await client.post("/api/v1/things", json={"a": 2}, headers=headers("alice", "k"))
        body, content_type = b'{"a":1}', "application/json"
        sha256 = body_fingerprint(content_type.encode(), body)
        h.claims.rows[(ALICE.org_id, ALICE.user_id, "busy")] = HeldKey(
            "POST", "/api/v1/things", sha256, IN_PROGRESS, None, None, None
        )
        busy = await client.post(
            "/api/v1/things",
            content=body,
            headers={**headers("alice", "busy"), "Content-Type": content_type},
        )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    assert h.calls == [{"a": 1}]


async def test_a_server_error_releases_the_claim() -> None:
    h = harness()
    async with h.client as client:
        failed = await client.post(
            "/api/v1/things", json={"fail": True}, headers=headers("alice", "k")
        )
        assert h.claims.rows == {}
        retried = await client.post(
            "/api/v1/things", json={"fail": True}, headers=headers("alice", "k")
        )
    assert failed.status_code == retried.status_code == 503
    assert len(h.calls) == 2


async def test_callers_it_cannot_read_or_remember_pass_through() -> None:
    h = harness()
    h.claims.unknown.add(GONE.user_id)
    async with h.client as client:
        for token in ("nobody", "nobody", "gone", "gone"):
            response = await client.post(
                "/api/v1/things", json={"t": token}, headers=headers(token, "k")
            )
            assert response.status_code == 201
            assert "idempotent-replayed" not in response.headers
    assert len(h.calls) == 4
    assert h.claims.rows == {}
