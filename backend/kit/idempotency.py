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

A claim names its owner: this process's own database connection (``kit.process_owner``), which
drops when the process dies. A retry that finds a claim whose owner backend is no longer in
``pg_stat_activity`` takes it over at once and runs, so a request cut by a crash is neither lost
nor blocked; the takeover locks the row first, so two retries cannot both win. A claim older
than ``STALE_CLAIM`` is taken over whoever owns it: the fallback for owners whose end the
database cannot see (a connection pooler between the app and PostgreSQL) or that hang.

Requests without a valid bearer token pass through untouched (the endpoint answers 401), and so
does the token endpoint itself.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    and_,
    case,
    column,
    delete,
    exists,
    func,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.principal import Principal
from backend.auth.tokens import read_access_token
from backend.db import session_scope
from backend.errors import problem_response
from backend.kit.body_fingerprint import body_fingerprint
from backend.kit.jobs import run_exclusive
from backend.kit.process_owner import Owner, ProcessOwner
from backend.kit.time import utc_now
from backend.models.idempotency_key import IdempotencyKey

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

_PG_STAT_ACTIVITY = table(
    "pg_stat_activity",
    column("pid", Integer),
    column("backend_start", DateTime(timezone=True)),
    schema="pg_catalog",
)


@dataclass(frozen=True, slots=True)
class _Request:
    principal: Principal
    key: str
    method: str
    path: str
    body_sha256: bytes


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

    The sessionmaker and settings are read from ``scope["app"].state`` at call time (the app
    sets the sessionmaker in its lifespan). ``max_body_bytes`` bounds the buffered request body
    when the app's own body limit does not already (it defaults to the settings' limit).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
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
        state = scope["app"].state
        token = _bearer_token(scope)
        principal = read_access_token(state.settings.secret, token) if token else None
        if principal is None:
            await self.app(scope, receive, send)
            return

        limit = self.max_body_bytes or int(state.settings.max_body_bytes)
        try:
            body = await _read_body(receive, limit)
        except HTTPException as exc:
            response = problem_response(
                exc.status_code, "payload_too_large", "The request body is too large."
            )
            await response(scope, receive, send)
            return
        if body is None:  # the client went away
            return

        content_types = _header_values(scope, b"content-type")
        request = _Request(
            principal=principal,
            key=key,
            method=scope["method"],
            path=_request_path(scope),
            body_sha256=body_fingerprint(content_types[0] if content_types else None, body),
        )
        sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
        # None for an app built without one: its claims then wait out STALE_CLAIM after a crash.
        process_owner: ProcessOwner | None = getattr(state, "process_owner", None)
        try:
            claimed, existing = await _claim(sessionmaker, request, process_owner)
        except IntegrityError:
            # The token's user is gone: nothing to remember; the endpoint answers for itself.
            await self.app(scope, _replaying_receive(body, receive), send)
            return
        if claimed:
            await self._run(scope, _replaying_receive(body, receive), send, sessionmaker, request)
            return
        assert existing is not None
        await _answer_existing(scope, receive, send, request, existing)

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
        sessionmaker: async_sessionmaker[AsyncSession],
        request: _Request,
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
                        await _store(sessionmaker, request, status, content_type, b"".join(chunks))
                    else:
                        await _release(sessionmaker, request)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not settled:
                await _release(sessionmaker, request)


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


def _row_filter(request: _Request) -> Any:
    return and_(
        IdempotencyKey.org_id == request.principal.org_id,
        IdempotencyKey.user_id == request.principal.user_id,
        IdempotencyKey.key == request.key,
    )


@dataclass(frozen=True, slots=True)
class _Existing:
    method: str
    path: str
    body_sha256: bytes
    status: str
    response_status: int | None
    response_content_type: str | None
    response_body: bytes | None


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: _Request,
    process_owner: ProcessOwner | None,
) -> tuple[bool, _Existing | None]:
    """Claim the key (True), or return the row that holds it."""
    owner = await process_owner.current() if process_owner is not None else None
    now = utc_now()
    for _ in range(3):
        async with session_scope(sessionmaker) as session:
            # An expired key no longer holds anything: the key may be used afresh.
            await session.execute(
                delete(IdempotencyKey).where(
                    _row_filter(request), IdempotencyKey.created_at < now - TTL
                )
            )
            if await _insert_claim(session, request, owner, now):
                return True, None
            if await _take_over_orphaned_claim(session, request, owner, now):
                return True, None
            row = (
                await session.execute(
                    select(
                        IdempotencyKey.method,
                        IdempotencyKey.path,
                        IdempotencyKey.body_sha256,
                        IdempotencyKey.status,
                        IdempotencyKey.response_status,
                        IdempotencyKey.response_content_type,
                        IdempotencyKey.response_body,
                    ).where(_row_filter(request))
                )
            ).one_or_none()
            if row is not None:
                return False, _Existing(*row)
        # Released between our insert and our read: try to claim it again.
    raise RuntimeError("could not claim an idempotency key")


def _owner_values(owner: Owner | None) -> dict[str, Any]:
    """The owner a claim records: ours while its backend is there, else none.

    Checked as the claim is written: a claim naming a backend already gone (a connection
    pooler recycled it, or it was ended a moment ago) could be taken over from a live request
    by any retry; with no owner it waits out ``STALE_CLAIM`` instead.
    """
    if owner is None:
        return {"owner_pid": None, "owner_backend_start": None}
    activity = _PG_STAT_ACTIVITY.c
    present = exists().where(
        activity.pid == owner.pid, activity.backend_start == owner.backend_start
    )
    return {
        "owner_pid": case((present, owner.pid), else_=None),
        "owner_backend_start": case((present, owner.backend_start), else_=None),
    }


async def _insert_claim(
    session: AsyncSession, request: _Request, owner: Owner | None, now: datetime
) -> bool:
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(
            org_id=request.principal.org_id,
            user_id=request.principal.user_id,
            key=request.key,
            method=request.method,
            path=request.path,
            body_sha256=request.body_sha256,
            status=IN_PROGRESS,
            created_at=now,
            **_owner_values(owner),
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    return inserted is not None


async def _take_over_orphaned_claim(
    session: AsyncSession, request: _Request, owner: Owner | None, now: datetime
) -> bool:
    """Make the claim ours if the request that holds it can no longer finish.

    The row is locked before its owner is looked up: of two retries racing for one orphaned
    claim, the second waits here until the first commits, then finds the first's owner, alive.
    (Checking in the UPDATE's WHERE alone is not enough: PostgreSQL may plan ``NOT EXISTS`` as
    an anti-join, and its re-check of a row changed under it then reuses the first answer.)
    """
    if not await _lock_claim(session, request):
        return False
    # PostgreSQL reads pg_stat_activity once per transaction and keeps that reading: take a
    # fresh one now that the row is ours, which has every owner that could have written it.
    await session.execute(select(func.pg_stat_clear_snapshot()))
    taken = await session.scalar(
        update(IdempotencyKey)
        .where(
            _row_filter(request),
            IdempotencyKey.status == IN_PROGRESS,
            # Only the same request resumes the claim; another body is still a reused key.
            IdempotencyKey.method == request.method,
            IdempotencyKey.path == request.path,
            IdempotencyKey.body_sha256 == request.body_sha256,
            or_(_owner_gone(), IdempotencyKey.created_at < now - STALE_CLAIM),
        )
        .values(created_at=now, **_owner_values(owner))
        .returning(IdempotencyKey.key)
    )
    return taken is not None


async def _lock_claim(session: AsyncSession, request: _Request) -> bool:
    locked = await session.scalar(
        select(IdempotencyKey.key)
        .where(_row_filter(request), IdempotencyKey.status == IN_PROGRESS)
        .with_for_update()
    )
    return locked is not None


def _owner_gone() -> ColumnElement[bool]:
    """The claim's owner backend has ended: its process died or its connection dropped."""
    activity = _PG_STAT_ACTIVITY.c
    owner_alive = exists().where(
        activity.pid == IdempotencyKey.owner_pid,
        or_(
            activity.backend_start == IdempotencyKey.owner_backend_start,
            # Another role's session shows no start time (without pg_read_all_stats): a live
            # backend with that pid may be the owner, so it counts as alive.
            activity.backend_start.is_(None),
        ),
    )
    return and_(IdempotencyKey.owner_pid.is_not(None), ~owner_alive)


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: _Request,
    status: int,
    content_type: str | None,
    body: bytes,
) -> None:
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(
                update(IdempotencyKey)
                .where(_row_filter(request), IdempotencyKey.status == IN_PROGRESS)
                .values(
                    status=COMPLETED,
                    response_status=status,
                    response_content_type=content_type[:255] if content_type else None,
                    response_body=body,
                    completed_at=utc_now(),
                )
            )
    except Exception:
        # The response itself succeeded: answer it; a retry will find the claim (its owner
        # alive) and wait for it to go stale rather than run twice.
        logger.exception("could not store an idempotent response")


async def _release(sessionmaker: async_sessionmaker[AsyncSession], request: _Request) -> None:
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    _row_filter(request), IdempotencyKey.status == IN_PROGRESS
                )
            )
    except Exception:
        logger.exception("could not release an idempotency key")


async def _answer_existing(
    scope: Scope, receive: Receive, send: Send, request: _Request, existing: _Existing
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


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete keys older than 24 hours; the number deleted."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL)
    )
    return int(cast(CursorResult[Any], result).rowcount)


async def purge_expired_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> int | None:
    """The scheduler job: ``purge_expired`` on one replica at a time."""

    async def work(session: AsyncSession) -> int:
        return await purge_expired(session, utc_now())

    return await run_exclusive(sessionmaker, "idempotency.purge_expired", work)
