"""API keys: made, listed and revoked by admins; checked on every request that carries one.

A key acts for its organization with its scopes (``backend.auth.principal.Principal`` with
``api_key_id``): reads are org-wide, as an admin's, but it reaches only the routes its scopes name
(``backend.api_keys.scopes``), never an admin-only one, and never sees door codes. What it writes
(``stores:write``) records the key's id as the events' ``actor_id``; a key can reach no route
that writes a user id into a column that references ``users``.

Only ``flush()`` here; the request boundary commits. The per-request check runs on a plain
asyncpg connection (autocommit) so that ``last_used_at`` is written even when the request's own
transaction rolls back.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from backend.api_keys import keys, repository, scopes
from backend.api_keys.exceptions import (
    ApiKeyNotFound,
    ExpiryNotInFuture,
    InsufficientScope,
    KeyNotValid,
    KeyRateLimited,
)
from backend.api_keys.rate_limit import Limiter, Policy
from backend.api_keys.repository import KeyRecord
from backend.api_keys.schemas import ApiKeyCreate
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import SqlConnection
from backend.kit.pagination import PageParams
from backend.models import ApiKey
from backend.models.user import Role

looks_like_key = keys.looks_like_key  # re-exported for backend.auth.dependencies

# ``last_used_at`` is kept to the minute: written when the stored value is older than this.
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)


# --- the admin's side ----------------------------------------------------------------------------


async def create_key(
    session: AsyncSession, principal: Principal, data: ApiKeyCreate, secret: bytes, now: datetime
) -> tuple[ApiKey, str]:
    """A new key of the caller's organization and the key itself (shown once, never stored)."""
    if data.expires_at is not None and data.expires_at <= now:
        raise ExpiryNotInFuture()
    key_id = uuid.uuid4()
    key = keys.new_key(key_id)
    row = ApiKey(
        id=key_id,
        org_id=principal.org_id,
        name=data.name,
        prefix=keys.shown_prefix(key),
        key_hash=keys.key_hash(secret, key),
        # In the catalog's order, each once.
        scopes=[s.value for s in scopes.Scope if s in data.scopes],
        rate_per_minute=data.rate_per_minute,
        burst=data.burst,
        created_by=principal.user_id,
        created_at=now,
        expires_at=data.expires_at,
    )
    repository.add(session, row)
    await session.flush()
    return row, key


async def list_keys(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[ApiKey], str | None]:
    """The organization's keys, newest first, revoked ones included (with ``revoked_at``)."""
    return await repository.page(session, principal.org_id, page)


async def revoke_key(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID, now: datetime
) -> None:
    """Revoke a key: its next request is refused, on every replica (the check reads the row)."""
    if not await repository.revoke(session, principal.org_id, key_id, now):
        raise ApiKeyNotFound()


# --- the per-request check -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyAccess:
    """A key let through: who it acts as, and the rate-limit headers for the response."""

    principal: Principal
    headers: dict[str, str]


async def authenticate(
    connection: SqlConnection,
    settings: Settings,
    limiter: Limiter,
    token: str,
    operation_id: str | None,
    now: datetime,
    clock: float,
) -> KeyAccess:
    """Check a ``dsk_`` bearer token for the route ``operation_id``.

    401 ``unauthorized`` for a key that is malformed, unknown, wrong, revoked or expired; 429
    ``rate_limited`` over the key's limit; 403 ``insufficient_scope`` for a route the key may not
    call. ``now`` is the wall clock (expiry, ``last_used_at``), ``clock`` a monotonic one in
    seconds (the rate limit).
    """
    record = await _valid_key(connection, settings.secret, token, now)
    policy = Policy.share(
        record.rate_per_minute, record.burst, settings.api_key_rate_limit_replicas
    )
    decision = limiter.admit(record.id, policy, clock)
    headers = decision.headers(policy)
    if not decision.allowed:
        raise KeyRateLimited(headers, int(headers["Retry-After"]))
    await _note_use(connection, record, now)
    required = scopes.required_scope(operation_id)
    if required is None or required not in record.scopes:
        raise InsufficientScope(required, headers)
    return KeyAccess(_principal(record), headers)


async def idempotency_caller(
    connection: SqlConnection, secret: bytes, token: str, now: datetime
) -> Principal | None:
    """Who an ``Idempotency-Key`` sent with this ``dsk_`` token belongs to: the key (its id and
    org), or None for a key that would be refused (the request then gets its 401 untouched)."""
    try:
        return _principal(await _valid_key(connection, secret, token, now))
    except KeyNotValid:
        return None


async def _valid_key(
    connection: SqlConnection, secret: bytes, token: str, now: datetime
) -> KeyRecord:
    key_id = keys.key_id_of(token)
    if key_id is None:
        raise KeyNotValid()
    record = await repository.key_for_check(connection, key_id)
    if record is None or not keys.matches(secret, token, record.key_hash):
        raise KeyNotValid()
    if record.revoked_at is not None or (
        record.expires_at is not None and record.expires_at <= now
    ):
        raise KeyNotValid()
    return record


async def _note_use(connection: SqlConnection, record: KeyRecord, now: datetime) -> None:
    """Write ``last_used_at`` when the row's value is more than a minute old: at most about once
    a minute per key, not on every request (the row just read tells when it is due)."""
    stale_before = now - LAST_USED_RESOLUTION
    if record.last_used_at is None or record.last_used_at < stale_before:
        await repository.touch(connection, record.id, now, stale_before)


def _principal(record: KeyRecord) -> Principal:
    return Principal(
        user_id=record.id,
        org_id=record.org_id,
        role=Role.admin,
        api_key_id=record.id,
        scopes=record.scopes,
    )
