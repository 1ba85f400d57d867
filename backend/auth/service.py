"""Sign-in, refresh-token rotation and the login throttle."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import throttle, tokens
from backend.auth.exceptions import InvalidGrant, LoginLocked
from backend.auth.passwords import verify_password
from backend.auth.principal import Principal
from backend.config import Settings
from backend.kit.time import utc_now
from backend.models import LoginName, LoginThrottle, RefreshToken, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def normalize_username(username: str) -> str:
    return username.strip().lower()


async def password_grant(
    session: AsyncSession, settings: Settings, username: str, password: str
) -> TokenPair:
    name = normalize_username(username)
    now = utc_now()
    await _refuse_if_locked(session, name, now)
    user = await _active_user_by_username(session, name)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        await _record_failure(session, settings, name, now)
        raise InvalidGrant()
    await session.execute(delete(LoginThrottle).where(LoginThrottle.username == name))
    return await _issue_pair(session, settings, user, uuid.uuid4(), now)


async def refresh_grant(session: AsyncSession, settings: Settings, raw_token: str) -> TokenPair:
    parsed = tokens.parse_refresh_token(raw_token)
    if parsed is None:
        raise InvalidGrant("The refresh token is not valid.")
    org_id, token_hash = parsed
    now = utc_now()
    token = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.org_id == org_id, RefreshToken.token_hash == token_hash)
        .with_for_update()
    )
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise InvalidGrant("The refresh token is not valid.")
    if token.used_at is not None and now - token.used_at > timedelta(
        seconds=settings.refresh_grace_s
    ):
        await revoke_family(session, token.org_id, token.family_id, now)
        raise InvalidGrant("The refresh token was already used; its sessions are revoked.")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidGrant("The refresh token is not valid.")
    token.used_at = token.used_at or now
    return await _issue_pair(session, settings, user, token.family_id, now)


async def revoke_family(
    session: AsyncSession, org_id: uuid.UUID, family_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.org_id == org_id,
            RefreshToken.family_id == family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def revoke_user_tokens(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.org_id == org_id,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utc_now())
    )


async def purge_expired_refresh_tokens(session: AsyncSession, older_than: datetime) -> int:
    """Delete tokens expired before ``older_than`` (kept a while for reuse detection)."""
    result = await session.execute(
        delete(RefreshToken).where(RefreshToken.expires_at < older_than).returning(RefreshToken.id)
    )
    return len(result.all())


async def _issue_pair(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID, now: datetime
) -> TokenPair:
    raw = tokens.new_refresh_token(user.org_id)
    session.add(
        RefreshToken(
            org_id=user.org_id,
            user_id=user.id,
            family_id=family_id,
            token_hash=tokens.hash_refresh_token(raw),
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_idle_days),
        )
    )
    await session.flush()
    principal = Principal(user.id, user.org_id, user.role)
    access = tokens.issue_access_token(settings.secret, principal, now, settings.access_token_ttl_s)
    return TokenPair(access, raw, settings.access_token_ttl_s)


async def _active_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User)
        .join(LoginName, (LoginName.user_id == User.id) & (LoginName.org_id == User.org_id))
        .where(LoginName.username == username, User.is_active.is_(True))
    )


async def _refuse_if_locked(session: AsyncSession, username: str, now: datetime) -> None:
    locked_until = await session.scalar(
        select(LoginThrottle.locked_until).where(LoginThrottle.username == username)
    )
    wait = throttle.retry_after(locked_until, now)
    if wait:
        raise LoginLocked(wait)


async def _record_failure(
    session: AsyncSession, settings: Settings, username: str, now: datetime
) -> None:
    stmt = insert(LoginThrottle).values(username=username, failures=1, last_failure_at=now)
    stale = LoginThrottle.last_failure_at < now - throttle.FAILURE_WINDOW
    failures = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[LoginThrottle.username],
            set_={
                "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                "last_failure_at": now,
            },
        ).returning(LoginThrottle.failures)
    )
    assert failures is not None
    lock_s = throttle.lockout_seconds(
        failures,
        settings.login_max_failures,
        settings.login_lockout_base_s,
        settings.login_lockout_max_s,
    )
    if lock_s:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == username)
            .values(locked_until=now + timedelta(seconds=lock_s))
        )
