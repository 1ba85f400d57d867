"""Users of an organization: creation, listing, updates; usernames are unique system-wide."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service as auth_service
from backend.auth.passwords import hash_password
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.events import service as events
from backend.kit.pagination import PageParams, decode_cursor, encode_cursor
from backend.models import LoginName, Team, TeamMember, User
from backend.models.user import Role
from backend.users.exceptions import UsernameTaken
from backend.users.schemas import UserCreate, UserUpdate


async def create_user(
    session: AsyncSession, org_id: uuid.UUID, data: UserCreate, actor_id: uuid.UUID | None
) -> User:
    username = auth_service.normalize_username(data.username)
    if await session.get(LoginName, username) is not None:
        raise UsernameTaken(username)
    user = User(
        id=uuid.uuid4(),
        org_id=org_id,
        username=username,
        display_name=data.display_name,
        role=data.role,
        password_hash=await hash_password(data.password),
        locale=data.locale,
        is_active=True,
    )
    session.add(user)
    await session.flush()
    session.add(LoginName(username=username, org_id=org_id, user_id=user.id))
    await session.flush()
    await events.record(
        session,
        org_id=org_id,
        type="user.created",
        subject_type="user",
        subject_id=user.id,
        actor_id=actor_id,
        payload={"username": username, "role": data.role.value},
    )
    return user


async def get_user(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = await session.scalar(select(User).where(User.org_id == org_id, User.id == user_id))
    if user is None:
        raise NotFound("No such user.")
    return user


async def list_users(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams, role: Role | None = None
) -> tuple[Sequence[User], str | None]:
    stmt = select(User).where(User.org_id == org_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if page.cursor:
        (after,) = decode_cursor(page.cursor, (str,))
        stmt = stmt.where(User.username > after)
    users = (await session.scalars(stmt.order_by(User.username).limit(page.limit + 1))).all()
    more = len(users) > page.limit
    users = users[: page.limit]
    return users, encode_cursor([users[-1].username]) if more else None


async def update_user(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    data: UserUpdate,
    now: datetime,
) -> User:
    user = await get_user(session, principal.org_id, user_id)
    cuts_power = _cuts_power(user, data)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    for field, value in changes.items():
        if value is not None:
            setattr(user, field, value)
    if data.password is not None:
        user.password_hash = await hash_password(data.password)
    if cuts_power:
        # Every access token issued before now stops working on its next request.
        user.access_epoch += 1
    if data.password is not None or data.is_active is False:
        await auth_service.revoke_user_tokens(session, user.org_id, user.id)
    await session.flush()
    if data.is_active is False:
        await _close_open_visit(session, user, principal.user_id, now)
    await events.record(
        session,
        org_id=user.org_id,
        type="user.updated",
        subject_type="user",
        subject_id=user.id,
        actor_id=principal.user_id,
        payload={"fields": sorted(data.model_fields_set)},
    )
    return user


def _cuts_power(user: User, data: UserUpdate) -> bool:
    """A change after which the user's existing tokens must no longer speak for them."""
    return (
        (data.role is not None and data.role != user.role)
        or (data.is_active is False and user.is_active)
        or data.password is not None
    )


DEACTIVATED_REASON = "auto: the user was deactivated"


async def _close_open_visit(
    session: AsyncSession, user: User, actor_id: uuid.UUID, now: datetime
) -> None:
    # Imported here: visits read users (rep names), so users cannot import visits at load time.
    from backend.visits import service as visit_service

    await visit_service.abandon_open_visit_of(
        session, user.org_id, user.id, DEACTIVATED_REASON, actor_id, now
    )


async def users_by_id(
    session: AsyncSession, org_id: uuid.UUID, user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, User]:
    users = await session.scalars(select(User).where(User.org_id == org_id, User.id.in_(user_ids)))
    return {user.id: user for user in users}


async def team_ids_of(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """Teams the user belongs to or supervises."""
    member_of = select(TeamMember.team_id).where(
        TeamMember.org_id == org_id, TeamMember.user_id == user_id
    )
    rows = await session.scalars(
        select(Team.id)
        .where(Team.org_id == org_id, or_(Team.supervisor_id == user_id, Team.id.in_(member_of)))
        .order_by(Team.name)
    )
    return list(rows)
