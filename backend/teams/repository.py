"""SQL of the teams domain, every statement scoped by the organization.

Visibility: an admin sees every team of the org, anyone else the teams they are a member of or
supervise. ``supervised_rep_ids`` is the subquery the other domains' lists give
``kit.scoping.visible_to`` as ``supervised``.
"""

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.scoping import Caller
from backend.models import Team, TeamMember
from backend.models.user import Role


def led_team_ids(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> Select[uuid.UUID]:
    """The teams a supervisor leads, as a subquery."""
    return select(Team.id).where(Team.org_id == org_id, Team.supervisor_id == supervisor_id)


def supervised_rep_ids(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> Select[uuid.UUID]:
    """The reps in the teams a supervisor leads, as a subquery."""
    led = led_team_ids(org_id, supervisor_id)
    return select(TeamMember.user_id).where(
        TeamMember.org_id == org_id, TeamMember.team_id.in_(led)
    )


def _in_or_leading(org_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    """Teams the user is a member of or supervises."""
    member_of = select(TeamMember.team_id).where(
        TeamMember.org_id == org_id, TeamMember.user_id == user_id
    )
    return or_(Team.supervisor_id == user_id, Team.id.in_(member_of))


def _visible(caller: Caller) -> Select[Team]:
    stmt = select(Team).where(Team.org_id == caller.org_id)
    if caller.role == Role.admin:
        return stmt
    return stmt.where(_in_or_leading(caller.org_id, caller.user_id))


async def visible_by_id(session: AsyncSession, caller: Caller, team_id: uuid.UUID) -> Team | None:
    return await session.scalar(_visible(caller).where(Team.id == team_id))


async def visible_by_name(session: AsyncSession, caller: Caller) -> Sequence[Team]:
    return (await session.scalars(_visible(caller).order_by(Team.name))).all()


async def ids_of_member_or_supervisor(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Team.id)
        .where(Team.org_id == org_id, _in_or_leading(org_id, user_id))
        .order_by(Team.name)
    )
    return list(rows)


async def by_id(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> Team | None:
    return await session.scalar(select(Team).where(Team.org_id == org_id, Team.id == team_id))


async def exists(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Team.id).where(Team.org_id == org_id, Team.id == team_id))
    return found is not None


async def name_taken(session: AsyncSession, org_id: uuid.UUID, name: str) -> bool:
    taken = await session.scalar(select(Team.id).where(Team.org_id == org_id, Team.name == name))
    return taken is not None


async def add_members(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> None:
    if not user_ids:
        return
    rows = [{"org_id": org_id, "team_id": team_id, "user_id": u} for u in set(user_ids)]
    await session.execute(insert(TeamMember).values(rows).on_conflict_do_nothing())


async def remove_member(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Whether the user was a member (and is no longer)."""
    result = await session.execute(
        delete(TeamMember)
        .where(
            TeamMember.org_id == org_id,
            TeamMember.team_id == team_id,
            TeamMember.user_id == user_id,
        )
        .returning(TeamMember.user_id)
    )
    return result.first() is not None


async def member_ids(
    session: AsyncSession, org_id: uuid.UUID, team_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each team's member ids, in the order they were added."""
    members: dict[uuid.UUID, list[uuid.UUID]] = {team_id: [] for team_id in team_ids}
    if not members:
        return members
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.org_id == org_id, TeamMember.team_id.in_(list(members)))
        .order_by(TeamMember.added_at, TeamMember.user_id)
    )
    for team_id, user_id in rows:
        members[team_id].append(user_id)
    return members
