"""SQL of API keys: the admin's statements on the session, and the per-request check as plain
asyncpg on the SQL pool (one read by primary key; a write at most once a minute per key).

The check finds the row by the id the key carries, not by ``(org_id, ...)``: the organization
is what it is learning (like sign-in), and the hash then decides.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import SqlConnection
from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.models import ApiKey

NEWEST_FIRST = Keyset(ApiKey.created_at, ApiKey.id, descending=True)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the per-request check needs of a key's row."""

    id: uuid.UUID
    org_id: uuid.UUID
    key_hash: bytes
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rate_per_minute: int
    burst: int


KEY_FOR_CHECK_SQL = """
SELECT id, org_id, key_hash, scopes::text AS scopes, expires_at, revoked_at, last_used_at,
       rate_per_minute, burst
FROM api_keys WHERE id = $1
"""

# Conditional, so concurrent requests (and replicas) that all saw a stale value write it once.
TOUCH_SQL = """
UPDATE api_keys SET last_used_at = $2
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)
"""


async def key_for_check(connection: SqlConnection, key_id: uuid.UUID) -> KeyRecord | None:
    row = await connection.fetchrow(KEY_FOR_CHECK_SQL, key_id)
    if row is None:
        return None
    return KeyRecord(
        id=row["id"],
        org_id=row["org_id"],
        key_hash=bytes(row["key_hash"]),
        scopes=frozenset(json.loads(row["scopes"])),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        rate_per_minute=row["rate_per_minute"],
        burst=row["burst"],
    )


async def touch(
    connection: SqlConnection, key_id: uuid.UUID, now: datetime, stale_before: datetime
) -> None:
    await connection.execute(TOUCH_SQL, key_id, now, stale_before)


# --- the admin's statements ----------------------------------------------------------------------


def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)


async def page(
    session: AsyncSession, org_id: uuid.UUID, params: PageParams
) -> tuple[list[ApiKey], str | None]:
    return await keyset_page(
        session, select(ApiKey).where(ApiKey.org_id == org_id), NEWEST_FIRST, params
    )


async def revoke(
    session: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> bool:
    """Revoke the org's key (an earlier revocation keeps its own time); False: no such key."""
    revoked = await session.scalar(
        update(ApiKey)
        .where(ApiKey.org_id == org_id, ApiKey.id == key_id)
        .values(revoked_at=func.coalesce(ApiKey.revoked_at, now))
        .returning(ApiKey.id)
    )
    return revoked is not None
