"""Users of an organization: creation, listing, updates; usernames are unique system-wide."""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service as auth_service
from backend.auth.passwords import hash_password
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.events import service as events
from backend.events.catalog import UserCreated, UserUpdated
from backend.kit.pagination import PageParams
from backend.models import LoginName, User
from backend.models.user import Role
from backend.users import repository
from backend.users.exceptions import UsernameTaken
from backend.users.schemas import UserCreate, UserUpdate


async def create_user(
    session: AsyncSession, org_id: uuid.UUID, data: UserCreate, actor_id: uuid.UUID | None
) -> User:
    username = auth_service.normalize_username(data.username)
    if await repository.username_taken(session, username):
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
        UserCreated(username=username, role=data.role),
        org_id=org_id,
        subject_id=user.id,
        actor_id=actor_id,
    )
    return user


async def get_user(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = await repository.by_id(session, org_id, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def list_users(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams, role: Role | None = None
) -> tuple[Sequence[User], str | None]:
    """The org's users by username, with a username cursor."""
    return await repository.page_by_username(session, org_id, page, role)


async def active_ids_with_role(
    session: AsyncSession, org_id: uuid.UUID, role: Role
) -> set[uuid.UUID]:
    """The ids of the org's active users with ``role`` (e.g. whom to tell when no one else)."""
    return await repository.ids_with_role(session, org_id, role, active_only=True)


async def active_role(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """The role of an active user of the org; None for anyone else."""
    return await repository.active_role(session, org_id, user_id)


async def rep_ids_among(
    session: AsyncSession, org_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``user_ids`` are reps of the org."""
    return await repository.ids_with_role(session, org_id, Role.rep, among=user_ids)


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
        await auth_service.revoke_user_tokens(session, user.org_id, user.id, now)
    await session.flush()
    if data.is_active is False:
        await _close_open_visit(session, user, principal.user_id, now)
    await events.record(
        session,
        UserUpdated(fields=sorted(data.model_fields_set)),
        org_id=user.org_id,
        subject_id=user.id,
        actor_id=principal.user_id,
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
    return await repository.by_ids(session, org_id, user_ids)


async def team_ids_of(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """Teams the user belongs to or supervises (the teams domain knows)."""
    # Imported here: teams check their members through this module, so users cannot import
    # teams at load time.
    from backend.teams import service as team_service

    return await team_service.team_ids_of(session, org_id, user_id)
