"""``Idempotency-Key`` on POSTs: the first response is stored and replayed for 24 hours.

A pure ASGI middleware. A key belongs to its caller (the access token's organization and user);
it is bound to the method, the path (with its query) and the SHA-256 of the body it was first
used with (a multipart body by its parsed parts, see ``kit.body_fingerprint``). The first
request claims the key in its own short transaction, runs, and stores its response (under 1 MiB,
status below 500); a 5xx, an exception or a transient refusal (401, 408, 429) releases the claim
so the client may retry. Then:

- the same request again gets the stored status and body, with ``Idempotent-Replayed: true``;
- the same key with another body, method or path gets ``422 idempotency_key_reused``;
- the same key while the first request still runs gets ``409 conflict`` with ``Retry-After: 1``.

kit knows no domain, so the middleware is given what it needs by the app factory: a function
that reads the caller (anything with ``org_id`` and ``user_id``) from a bearer token, and a
:class:`ClaimStore` that keeps the claims (``backend.idempotency.repository`` on the
``idempotency_keys`` table: who owns a claim, when a crashed one is taken over). The middleware
is the time boundary: it reads the clock once per request and hands the store that ``now``.

Requests without a valid bearer token pass through untouched (the endpoint answers 401), and so
does the token endpoint itself.
"""

import enum
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import problem_response
from backend.kit.body_fingerprint import body_fingerprint
from backend.kit.time import utc_now

logger = logging.getLogger(__name__)

HEADER = b"idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
API_PREFIX = "/api/v1/"
EXCLUDED_PATHS = frozenset({"/api/v1/auth/token"})

TTL = timedelta(hours=24)
# A claim this old is taken over even if its owner looks alive: no request runs that long, and
# behind a connection pooler the owner backend outlives the process that made the claim.
STALE_CLAIM = timedelta(minutes=5)
MAX_STORED_BODY = 1024 * 1024
# Refusals that say nothing about the request itself: a retry may well succeed.
TRANSIENT_STATUSES = frozenset({401, 408, 425, 429})

IN_PROGRESS = "in_progress"
COMPLETED = "completed"

_VALID_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


class KeyOwner(Protocol):
    """Whom a key belongs to: the caller the bearer token names."""

    @property
    def org_id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...


# Reads the caller from a bearer token; None for a token that is not valid (or expired). It may
# ask the database (an API key is checked against its row), so it is awaited.
ReadCaller = Callable[[str], Awaitable[KeyOwner | None]]


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A POST with an ``Idempotency-Key``: what its key is bound to."""

    caller: KeyOwner
    key: str
    method: str
    path: str
    body_sha256: bytes


@dataclass(frozen=True, slots=True)
class HeldKey:
    """The claim that already holds a key: what it was first used with and, once its request
    has answered (``status == COMPLETED``), the response to replay."""

    method: str
    path: str
    body_sha256: bytes
    status: str
    response_status: int | None
    response_content_type: str | None
    response_body: bytes | None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    content_type: str | None
    body: bytes


class Claim(enum.Enum):
    claimed = "claimed"  # the key is this request's now: run it
    unknown_caller = "unknown_caller"  # no one to remember it for (the token's user is gone)


class ClaimStore(Protocol):
    """Where claims live. ``claim`` either takes the key (a fresh one, an expired one, or one
    whose request can no longer finish) or returns the claim holding it; ``complete`` stores
    the response of a claimed request; ``release`` forgets an unfinished claim."""

    async def claim(self, request: KeyedRequest, now: datetime) -> Claim | HeldKey: ...

    async def complete(
        self, request: KeyedRequest, response: StoredResponse, now: datetime
    ) -> None: ...

    async def release(self, request: KeyedRequest) -> None: ...


def _header_values(scope: Scope, name: bytes) -> list[bytes]:
    return [bytes(value) for key, value in scope.get("headers", []) if key == name]


def _bearer_token(scope: Scope) -> str | None:
    values = _header_values(scope, b"authorization")
    if len(values) != 1:
        return None
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _request_path(scope: Scope) -> str:
    path: str = scope["path"]
    query = bytes(scope.get("query_string", b""))
    return f"{path}?{query.decode('latin-1')}" if query else path


class IdempotencyMiddleware:
    """Honour ``Idempotency-Key`` on authenticated POSTs under ``/api/v1/``.

    ``read_caller`` reads the caller from a bearer token, ``claims`` keeps the claims (both
    given by the app factory). ``max_body_bytes`` bounds the buffered request body.
    """

    def __init__(
        self, app: ASGIApp, *, read_caller: ReadCaller, claims: ClaimStore, max_body_bytes: int
    ) -> None:
        self.app = app
        self.read_caller = read_caller
        self.claims = claims
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(API_PREFIX)
            or scope["path"] in EXCLUDED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        keys = _header_values(scope, HEADER)
        if not keys:
            await self.app(scope, receive, send)
            return
        key = keys[0].decode("latin-1")
        if len(keys) != 1 or not _VALID_KEY.match(key):
            await self._invalid_key(scope, receive, send)
            return
        token = _bearer_token(scope)
        caller = await self.read_caller(token) if token else None
        if caller is None:
            await self.app(scope, receive, send)
            return

        try:
            body = await _read_body(receive, self.max_body_bytes)
        except HTTPException as exc:
            response = problem_response(
                exc.status_code, "payload_too_large", "The request body is too large."
            )
            await response(scope, receive, send)
            return
        if body is None:  # the client went away
            return

        content_types = _header_values(scope, b"content-type")
        request = KeyedRequest(
            caller=caller,
            key=key,
            method=scope["method"],
            path=_request_path(scope),
            body_sha256=body_fingerprint(content_types[0] if content_types else None, body),
        )
        claim = await self.claims.claim(request, utc_now())
        if claim is Claim.unknown_caller:
            # Nothing to remember: the endpoint answers for itself.
            await self.app(scope, _replaying_receive(body, receive), send)
            return
        if claim is Claim.claimed:
            await self._run(scope, _replaying_receive(body, receive), send, request)
            return
        await _answer_existing(scope, receive, send, request, claim)

    async def _invalid_key(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            422,
            "validation_error",
            "The request is not valid.",
            errors=[
                {
                    "pointer": "/header/idempotency-key",
                    "message": "One Idempotency-Key of 1 to 255 printable ASCII characters.",
                    "code": "invalid_idempotency_key",
                }
            ],
        )
        await response(scope, receive, send)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: KeyedRequest,
    ) -> None:
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []
        size = 0
        settled = False  # stored or released: nothing left to do for the claim

        async def capture(message: Message) -> None:
            nonlocal status, content_type, size, settled
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if bytes(name).lower() == b"content-type":
                        content_type = bytes(value).decode("latin-1")
            elif message["type"] == "http.response.body" and not settled:
                chunk = bytes(message.get("body", b""))
                size += len(chunk)
                if size <= MAX_STORED_BODY:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    # Settle before the last byte leaves, so a client that retries the moment
                    # it has the answer finds it stored rather than still in progress.
                    settled = True
                    if _storable(status, size):
                        stored = StoredResponse(status, content_type, b"".join(chunks))
                        await self._complete(request, stored)
                    else:
                        await self._release(request)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not settled:
                await self._release(request)

    async def _complete(self, request: KeyedRequest, response: StoredResponse) -> None:
        try:
            await self.claims.complete(request, response, utc_now())
        except Exception:
            # The response itself succeeded: answer it; a retry will find the claim (its owner
            # alive) and wait for it to go stale rather than run twice.
            logger.exception("could not store an idempotent response")

    async def _release(self, request: KeyedRequest) -> None:
        try:
            await self.claims.release(request)
        except Exception:
            logger.exception("could not release an idempotency key")


def _storable(status: int, size: int) -> bool:
    return status < 500 and status not in TRANSIENT_STATUSES and size < MAX_STORED_BODY


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] != "http.request":
            continue
        chunk = bytes(message.get("body", b""))
        received += len(chunk)
        if received > limit:
            raise HTTPException(413, "The request body is too large.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying_receive(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer_existing(
    scope: Scope, receive: Receive, send: Send, request: KeyedRequest, existing: HeldKey
) -> None:
    response: Response
    if (
        existing.method != request.method
        or existing.path != request.path
        or existing.body_sha256 != request.body_sha256
    ):
        response = problem_response(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with another request.",
            errors=[
                {
                    "pointer": "/header/idempotency-key",
                    "message": "Already used with a different method, path or body.",
                    "code": "idempotency_key_reused",
                }
            ],
        )
    elif existing.status != COMPLETED or existing.response_status is None:
        response = problem_response(
            409,
            "conflict",
            "A request with this Idempotency-Key is still in progress.",
            headers={"Retry-After": "1"},
        )
    else:
        headers = {REPLAYED_HEADER: "true"}
        if existing.response_content_type:
            headers["Content-Type"] = existing.response_content_type
        response = Response(
            content=existing.response_body or b"",
            status_code=existing.response_status,
            headers=headers,
        )
    await response(scope, receive, send)
