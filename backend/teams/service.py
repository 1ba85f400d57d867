"""Teams: one supervisor, many reps. Visibility: admins all, others the teams they are in."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, NotFound, ValidationFailed
from backend.events import service as events
from backend.models import Team, TeamMember, User
from backend.models.user import Role
from backend.teams.schemas import TeamCreate, TeamUpdate


@dataclass(frozen=True)
class TeamView:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    supervisor_id: uuid.UUID
    member_ids: list[uuid.UUID]
    created_at: datetime


async def create_team(session: AsyncSession, principal: Principal, data: TeamCreate) -> TeamView:
    org_id = principal.org_id
    await _require_unique_name(session, org_id, data.name)
    await _require_supervisor(session, org_id, data.supervisor_id)
    await _require_reps(session, org_id, data.member_ids, "/member_ids")
    team = Team(org_id=org_id, name=data.name, supervisor_id=data.supervisor_id)
    session.add(team)
    await session.flush()
    await _add_members(session, team, data.member_ids)
    await _event(session, team, "team.created", principal, {"member_ids": data.member_ids})
    return await _view(session, team)


async def update_team(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, data: TeamUpdate
) -> TeamView:
    team = await _get(session, principal.org_id, team_id)
    if data.name is not None and data.name != team.name:
        await _require_unique_name(session, team.org_id, data.name)
        team.name = data.name
    if data.supervisor_id is not None:
        await _require_supervisor(session, team.org_id, data.supervisor_id)
        team.supervisor_id = data.supervisor_id
    await session.flush()
    await _event(
        session, team, "team.updated", principal, {"fields": sorted(data.model_fields_set)}
    )
    return await _view(session, team)


async def add_members(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> TeamView:
    team = await _get(session, principal.org_id, team_id)
    await _require_reps(session, team.org_id, user_ids, "/user_ids")
    await _add_members(session, team, user_ids)
    await _event(session, team, "team.members_added", principal, {"user_ids": user_ids})
    return await _view(session, team)


async def remove_member(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, user_id: uuid.UUID
) -> TeamView:
    team = await _get(session, principal.org_id, team_id)
    result = await session.execute(
        delete(TeamMember)
        .where(
            TeamMember.org_id == team.org_id,
            TeamMember.team_id == team.id,
            TeamMember.user_id == user_id,
        )
        .returning(TeamMember.user_id)
    )
    if result.first() is None:
        raise NotFound("That user is not a member of this team.")
    await _event(session, team, "team.member_removed", principal, {"user_id": user_id})
    return await _view(session, team)


async def get_team(session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> TeamView:
    team = await session.scalar(_visible_teams(principal).where(Team.id == team_id))
    if team is None:
        raise NotFound("No such team.")
    return await _view(session, team)


async def list_teams(session: AsyncSession, principal: Principal) -> list[TeamView]:
    teams = (await session.scalars(_visible_teams(principal).order_by(Team.name))).all()
    return await _views(session, teams)


async def team_exists(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Team.id).where(Team.org_id == org_id, Team.id == team_id))
    return found is not None


def supervised_rep_ids(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> Select[uuid.UUID]:
    """The reps in the teams a supervisor leads, as a subquery for other domains' filters."""
    led = select(Team.id).where(Team.org_id == org_id, Team.supervisor_id == supervisor_id)
    return select(TeamMember.user_id).where(
        TeamMember.org_id == org_id, TeamMember.team_id.in_(led)
    )


def _visible_teams(principal: Principal) -> Select[Team]:
    stmt = select(Team).where(Team.org_id == principal.org_id)
    if principal.role == Role.admin:
        return stmt
    member_of = select(TeamMember.team_id).where(
        TeamMember.org_id == principal.org_id, TeamMember.user_id == principal.user_id
    )
    return stmt.where(or_(Team.supervisor_id == principal.user_id, Team.id.in_(member_of)))


async def _get(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> Team:
    team = await session.scalar(select(Team).where(Team.org_id == org_id, Team.id == team_id))
    if team is None:
        raise NotFound("No such team.")
    return team


async def _require_unique_name(session: AsyncSession, org_id: uuid.UUID, name: str) -> None:
    taken = await session.scalar(select(Team.id).where(Team.org_id == org_id, Team.name == name))
    if taken is not None:
        raise Conflict(f"A team named {name!r} already exists.", field="name")


async def _require_supervisor(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    role = await session.scalar(
        select(User.role).where(User.org_id == org_id, User.id == user_id, User.is_active)
    )
    if role not in (Role.supervisor, Role.admin):
        raise ValidationFailed(
            "The supervisor must be an active supervisor of this organization.",
            errors=[FieldError("/supervisor_id", "not a supervisor here", "invalid_supervisor")],
        )


async def _require_reps(
    session: AsyncSession, org_id: uuid.UUID, user_ids: list[uuid.UUID], pointer: str
) -> None:
    if not user_ids:
        return
    found = set(
        await session.scalars(
            select(User.id).where(
                User.org_id == org_id, User.id.in_(user_ids), User.role == Role.rep
            )
        )
    )
    bad = [
        FieldError(f"{pointer}/{i}", "not a rep of this organization", "invalid_member")
        for i, user_id in enumerate(user_ids)
        if user_id not in found
    ]
    if bad:
        raise ValidationFailed("Team members must be reps of this organization.", errors=bad)


async def _add_members(session: AsyncSession, team: Team, user_ids: list[uuid.UUID]) -> None:
    if not user_ids:
        return
    rows = [{"org_id": team.org_id, "team_id": team.id, "user_id": u} for u in set(user_ids)]
    await session.execute(insert(TeamMember).values(rows).on_conflict_do_nothing())


async def _event(
    session: AsyncSession, team: Team, type: str, principal: Principal, payload: dict[str, object]
) -> None:
    await events.record(
        session,
        org_id=team.org_id,
        type=type,
        subject_type="team",
        subject_id=team.id,
        actor_id=principal.user_id,
        payload={k: _jsonable(v) for k, v in payload.items()},
    )


def _jsonable(value: object) -> object:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value) if isinstance(value, uuid.UUID) else value


async def _view(session: AsyncSession, team: Team) -> TeamView:
    return (await _views(session, [team]))[0]


async def _views(session: AsyncSession, teams: Sequence[Team]) -> list[TeamView]:
    members: dict[uuid.UUID, list[uuid.UUID]] = {t.id: [] for t in teams}
    if teams:
        rows = await session.execute(
            select(TeamMember.team_id, TeamMember.user_id)
            .where(TeamMember.org_id == teams[0].org_id, TeamMember.team_id.in_(members))
            .order_by(TeamMember.added_at, TeamMember.user_id)
        )
        for team_id, user_id in rows:
            members[team_id].append(user_id)
    return [
        TeamView(t.id, t.org_id, t.name, t.supervisor_id, members[t.id], t.created_at)
        for t in teams
    ]
