"""SQL of the ``idempotency_keys`` table: the claim store ``kit.idempotency`` is given.

A claim names its owner: this process's own database connection (``kit.process_owner``), which
drops when the process dies. A retry that finds a claim whose owner backend is no longer in
``pg_stat_activity`` takes it over at once and runs, so a request cut by a crash is neither lost
nor blocked; the takeover locks the row first, so two retries cannot both win. A claim older
than ``STALE_CLAIM`` is taken over whoever owns it: the fallback for owners whose end the
database cannot see (a connection pooler between the app and PostgreSQL) or that hang.
"""

from datetime import datetime
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
from starlette.datastructures import State

from backend.db import session_scope
from backend.kit.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    STALE_CLAIM,
    TTL,
    Claim,
    HeldKey,
    KeyedRequest,
    StoredResponse,
)
from backend.kit.process_owner import Owner, ProcessOwner
from backend.models.idempotency_key import IdempotencyKey

_PG_STAT_ACTIVITY = table(
    "pg_stat_activity",
    column("pid", Integer),
    column("backend_start", DateTime(timezone=True)),
    schema="pg_catalog",
)


class IdempotencyClaims:
    """``kit.idempotency.ClaimStore`` on the ``idempotency_keys`` table.

    The app factory builds it before the lifespan opens the database, so the sessionmaker and
    the process owner are read from the app's ``state`` when a request comes. Without a process
    owner (an app built without one) claims record none and wait out ``STALE_CLAIM`` after a
    crash.
    """

    def __init__(self, state: State) -> None:
        self._state = state

    @property
    def _sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        sessionmaker: async_sessionmaker[AsyncSession] = self._state.sessionmaker
        return sessionmaker

    async def claim(self, request: KeyedRequest, now: datetime) -> Claim | HeldKey:
        process_owner: ProcessOwner | None = getattr(self._state, "process_owner", None)
        owner = await process_owner.current() if process_owner is not None else None
        try:
            return await _claim(self._sessionmaker, request, owner, now)
        except IntegrityError:
            return Claim.unknown_caller  # the caller's user is gone (foreign key)

    async def complete(
        self, request: KeyedRequest, response: StoredResponse, now: datetime
    ) -> None:
        async with session_scope(self._sessionmaker) as session:
            await session.execute(
                update(IdempotencyKey)
                .where(_row_filter(request), IdempotencyKey.status == IN_PROGRESS)
                .values(
                    status=COMPLETED,
                    response_status=response.status,
                    response_content_type=(
                        response.content_type[:255] if response.content_type else None
                    ),
                    response_body=response.body,
                    completed_at=now,
                )
            )

    async def release(self, request: KeyedRequest) -> None:
        async with session_scope(self._sessionmaker) as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    _row_filter(request), IdempotencyKey.status == IN_PROGRESS
                )
            )


def _row_filter(request: KeyedRequest) -> ColumnElement[bool]:
    return and_(
        IdempotencyKey.org_id == request.caller.org_id,
        IdempotencyKey.user_id == request.caller.user_id,
        IdempotencyKey.key == request.key,
    )


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: KeyedRequest,
    owner: Owner | None,
    now: datetime,
) -> Claim | HeldKey:
    """Claim the key, or return the row that holds it."""
    for _ in range(3):
        async with session_scope(sessionmaker) as session:
            # An expired key no longer holds anything: the key may be used afresh.
            await session.execute(
                delete(IdempotencyKey).where(
                    _row_filter(request), IdempotencyKey.created_at < now - TTL
                )
            )
            if await insert_claim(session, request, owner, now):
                return Claim.claimed
            if await take_over_orphaned_claim(session, request, owner, now):
                return Claim.claimed
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
                return HeldKey(*row)
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


async def insert_claim(
    session: AsyncSession, request: KeyedRequest, owner: Owner | None, now: datetime
) -> bool:
    """Write the claim for a key nobody holds; False when a row holds it already."""
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(
            org_id=request.caller.org_id,
            user_id=request.caller.user_id,
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


async def take_over_orphaned_claim(
    session: AsyncSession, request: KeyedRequest, owner: Owner | None, now: datetime
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


async def _lock_claim(session: AsyncSession, request: KeyedRequest) -> bool:
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


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete keys older than ``TTL`` at ``now``; the number deleted."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL)
    )
    return int(cast(CursorResult[Any], result).rowcount)
