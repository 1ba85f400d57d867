"""SQL of the users domain: every statement is scoped by the organization, except the system-wide
username check (``login_names``).

The users list pages by username (unique system-wide), not by (timestamp, id): its cursor is the
last username, so it keeps its own keyset instead of ``kit.pagination.Keyset``.
"""

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import PageParams, decode_cursor, encode_cursor
from backend.models import LoginName, User
from backend.models.user import Role


async def username_taken(session: AsyncSession, username: str) -> bool:
    return await session.get(LoginName, username) is not None


async def by_id(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.org_id == org_id, User.id == user_id))


async def by_ids(
    session: AsyncSession, org_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, User]:
    users = await session.scalars(
        select(User).where(User.org_id == org_id, User.id.in_(list(user_ids)))
    )
    return {user.id: user for user in users}


async def page_by_username(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams, role: Role | None
) -> tuple[list[User], str | None]:
    stmt = select(User).where(User.org_id == org_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if page.cursor:
        (after,) = decode_cursor(page.cursor, (str,))
        stmt = stmt.where(User.username > after)
    users = list(await session.scalars(stmt.order_by(User.username).limit(page.limit + 1)))
    more = len(users) > page.limit
    users = users[: page.limit]
    return users, encode_cursor([users[-1].username]) if more else None


async def active_role(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """The user's role if they are an active user of the org, else None."""
    return await session.scalar(
        select(User.role).where(User.org_id == org_id, User.id == user_id, User.is_active)
    )


async def ids_with_role(
    session: AsyncSession,
    org_id: uuid.UUID,
    role: Role,
    *,
    among: Collection[uuid.UUID] | None = None,
    active_only: bool = False,
) -> set[uuid.UUID]:
    """The ids of the org's users with ``role`` (only those ``among`` the given ids)."""
    stmt = select(User.id).where(User.org_id == org_id, User.role == role)
    if among is not None:
        stmt = stmt.where(User.id.in_(list(among)))
    if active_only:
        stmt = stmt.where(User.is_active)
    return set(await session.scalars(stmt))
