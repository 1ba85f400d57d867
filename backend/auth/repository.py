"""SQL of the auth domain: the per-request access check (plain asyncpg, on the SQL pool), and
the session's statements for sign-in, refresh tokens and the login throttle.

Refresh tokens are scoped by their organization (the raw token names it); sign-in looks a
username up system-wide (``login_names``) and the throttle keys are not tenant data.
"""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import throttle
from backend.auth.principal import UserAccess
from backend.db import SqlConnection
from backend.models import LoginName, LoginThrottle, RefreshToken, User
from backend.models.user import Role

# The primary key's index answers it; folded into the check-in's own read on that hot path.
CURRENT_ACCESS_SQL = """
SELECT role, is_active, access_epoch FROM users WHERE org_id = $1 AND id = $2
"""


async def current_access(
    connection: SqlConnection, org_id: uuid.UUID, user_id: uuid.UUID
) -> UserAccess | None:
    row = await connection.fetchrow(CURRENT_ACCESS_SQL, org_id, user_id)
    if row is None:
        return None
    return UserAccess(Role(row["role"]), row["is_active"], row["access_epoch"])


# --- sign-in and refresh tokens ------------------------------------------------------------------


async def active_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User)
        .join(LoginName, (LoginName.user_id == User.id) & (LoginName.org_id == User.org_id))
        .where(LoginName.username == username, User.is_active.is_(True))
    )


async def user_by_id(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.org_id == org_id, User.id == user_id))


async def refresh_token_for_update(
    session: AsyncSession, org_id: uuid.UUID, token_hash: bytes
) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.org_id == org_id, RefreshToken.token_hash == token_hash)
        .with_for_update()
    )


async def revoke_family(
    session: AsyncSession, org_id: uuid.UUID, family_id: uuid.UUID, now: datetime
) -> None:
    await _revoke(session, now, RefreshToken.org_id == org_id, RefreshToken.family_id == family_id)


async def revoke_user_tokens(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    await _revoke(session, now, RefreshToken.org_id == org_id, RefreshToken.user_id == user_id)


async def _revoke(session: AsyncSession, now: datetime, *which: ColumnElement[bool]) -> None:
    """Revoke the matching live tokens (an earlier revocation keeps its own time)."""
    await session.execute(
        update(RefreshToken).where(*which, RefreshToken.revoked_at.is_(None)).values(revoked_at=now)
    )


async def purge_refresh_tokens(session: AsyncSession, expired_before: datetime) -> int:
    """Delete every organization's tokens expired before ``expired_before``; how many."""
    result = await session.execute(
        delete(RefreshToken)
        .where(RefreshToken.expires_at < expired_before)
        .returning(RefreshToken.id)
    )
    return len(result.all())


# --- the login throttle --------------------------------------------------------------------------


async def locked_counter(session: AsyncSession, key: str, now: datetime) -> throttle.Counter | None:
    """The key's counter (None: no failures), its row locked for this transaction. A missing row
    is created empty, so that concurrent first attempts queue on it too."""
    row = (
        await session.execute(
            insert(LoginThrottle)
            .values(username=key, failures=0, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[LoginThrottle.username],
                set_={"failures": LoginThrottle.failures},
            )
            .returning(
                LoginThrottle.failures, LoginThrottle.last_failure_at, LoginThrottle.locked_until
            )
        )
    ).one()
    if row.failures == 0:
        return None
    return throttle.Counter(row.failures, row.last_failure_at, row.locked_until)


async def counter_for_update(session: AsyncSession, key: str) -> throttle.Counter | None:
    """The key's counter as stored, its row locked; None when there is no row."""
    row = (
        await session.execute(
            select(
                LoginThrottle.failures, LoginThrottle.last_failure_at, LoginThrottle.locked_until
            )
            .where(LoginThrottle.username == key)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return throttle.Counter(row.failures, row.last_failure_at, row.locked_until)


async def write_counter(session: AsyncSession, key: str, counter: throttle.Counter | None) -> None:
    """Store the key's counter; None forgets the key."""
    if counter is None:
        await session.execute(delete(LoginThrottle).where(LoginThrottle.username == key))
        return
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username == key)
        .values(
            failures=counter.failures,
            last_failure_at=counter.last_failure_at,
            locked_until=counter.locked_until,
        )
    )
