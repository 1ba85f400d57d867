"""Sign-in, refresh-token rotation and the login throttle."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth import repository, throttle, tokens
from backend.auth.exceptions import InvalidGrant, LoginLocked
from backend.auth.passwords import verify_password
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import session_scope
from backend.kit.client_ip import IPAddress
from backend.models import RefreshToken, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def normalize_username(username: str) -> str:
    return username.strip().lower()


async def password_grant(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    username: str,
    password: str,
    now: datetime,
    client_ip: IPAddress | None = None,
) -> TokenPair:
    """Sign in with a password at ``now``, throttled per account and per client address.

    The attempt is counted before the password is verified, in a short transaction of its own
    (``sessionmaker``) that commits at once, so parallel attempts see each other's counts and
    at most the limit are verified; a success takes its count back in ``session``.
    """
    name = normalize_username(username)
    attempt = await _count_attempt(sessionmaker, settings, name, client_ip, now)
    user = await repository.active_user_by_username(session, name)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidGrant()  # already counted
    await _refund_attempt(session, settings, attempt, now)
    return await _issue_pair(session, settings, user, uuid.uuid4(), now)


async def refresh_grant(
    session: AsyncSession, settings: Settings, raw_token: str, now: datetime
) -> TokenPair:
    """Rotate a refresh token at ``now``; a spent one reused past the grace revokes its family."""
    parsed = tokens.parse_refresh_token(raw_token)
    if parsed is None:
        raise InvalidGrant("The refresh token is not valid.")
    org_id, token_hash = parsed
    token = await repository.refresh_token_for_update(session, org_id, token_hash)
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise InvalidGrant("The refresh token is not valid.")
    if token.used_at is not None and now - token.used_at > timedelta(
        seconds=settings.refresh_grace_s
    ):
        await revoke_family(session, token.org_id, token.family_id, now)
        raise InvalidGrant("The refresh token was already used; its sessions are revoked.")
    user = await repository.user_by_id(session, token.org_id, token.user_id)
    if user is None or not user.is_active:
        raise InvalidGrant("The refresh token is not valid.")
    token.used_at = token.used_at or now
    return await _issue_pair(session, settings, user, token.family_id, now)


async def revoke_family(
    session: AsyncSession, org_id: uuid.UUID, family_id: uuid.UUID, now: datetime
) -> None:
    await repository.revoke_family(session, org_id, family_id, now)


async def revoke_user_tokens(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    """Revoke, as of ``now``, every refresh token of the user still valid."""
    await repository.revoke_user_tokens(session, org_id, user_id, now)


async def purge_expired_refresh_tokens(session: AsyncSession, older_than: datetime) -> int:
    """Delete tokens expired before ``older_than`` (kept a while for reuse detection)."""
    return await repository.purge_refresh_tokens(session, older_than)


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
    principal = Principal(user.id, user.org_id, user.role, user.access_epoch)
    access = tokens.issue_access_token(settings.secret, principal, now, settings.access_token_ttl_s)
    return TokenPair(access, raw, settings.access_token_ttl_s)


@dataclass(frozen=True)
class _CountedAttempt:
    """What counting a password attempt did, so that a success can take it back."""

    account_key: str
    address_key: str | None
    address_before: throttle.Counter | None
    address_counted: throttle.Counter | None


_ACCOUNT_LOCKED = "Too many failed logins for this account; try again later."
_ADDRESS_LOCKED = "Too many failed logins from this network address; try again later."


def _policy(settings: Settings, max_failures: int) -> throttle.Policy:
    return throttle.Policy(
        max_failures, settings.login_lockout_base_s, settings.login_lockout_max_s
    )


async def _count_attempt(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    username: str,
    client_ip: IPAddress | None,
    now: datetime,
) -> _CountedAttempt:
    """Count the attempt against its client address, then its account, and commit at once; a
    locked key refuses it with ``LoginLocked`` and nothing is counted (rolled back).

    Its own short transaction, not the request's: the counts are visible to concurrent attempts
    before this one's password is verified, and the row locks last only these few statements,
    not the argon2 verify. It runs before the request's session touches the database, so a
    sign-in never holds two pooled connections at once. The address row is always locked before
    the account row (here and in :func:`_refund_attempt`), so two attempts cannot deadlock.
    """
    account_key = throttle.account_key(username)
    address_key = None
    if client_ip is not None and settings.login_ip_max_failures:
        address_key = throttle.address_key(client_ip)
    address_before = address_counted = None
    async with session_scope(sessionmaker) as session:
        if address_key is not None:
            address_before = await repository.locked_counter(session, address_key, now)
            address_counted = await _count_on(
                session,
                address_key,
                address_before,
                _policy(settings, settings.login_ip_max_failures),
                now,
                _ADDRESS_LOCKED,
            )
        account_before = await repository.locked_counter(session, account_key, now)
        await _count_on(
            session,
            account_key,
            account_before,
            _policy(settings, settings.login_max_failures),
            now,
            _ACCOUNT_LOCKED,
        )
    return _CountedAttempt(account_key, address_key, address_before, address_counted)


async def _count_on(
    session: AsyncSession,
    key: str,
    current: throttle.Counter | None,
    policy: throttle.Policy,
    now: datetime,
    locked_detail: str,
) -> throttle.Counter:
    counted = throttle.count_attempt(current, now, policy)
    if isinstance(counted, int):
        raise LoginLocked(counted, locked_detail)
    await repository.write_counter(session, key, counted)
    return counted


async def _refund_attempt(
    session: AsyncSession, settings: Settings, attempt: _CountedAttempt, now: datetime
) -> None:
    """A success: the address gets its count back, the account starts again from zero.

    In the request's transaction (the success commits with the tokens it issues); the two rows
    stay locked from here to the commit, a few milliseconds, address first as when counting."""
    if attempt.address_key is not None and attempt.address_counted is not None:
        current = await repository.counter_for_update(session, attempt.address_key)
        if current is not None:
            refunded = throttle.refund(
                current,
                attempt.address_before,
                attempt.address_counted,
                _policy(settings, settings.login_ip_max_failures),
                now,
            )
            if refunded != current:
                await repository.write_counter(session, attempt.address_key, refunded)
    await repository.write_counter(session, attempt.account_key, None)
