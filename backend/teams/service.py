"""Teams: one supervisor, many reps. Visibility: admins all, others the teams they are in."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, NotFound, ValidationFailed
from backend.events import service as events
from backend.events.catalog import (
    EventPayload,
    TeamCreated,
    TeamMemberRemoved,
    TeamMembersAdded,
    TeamUpdated,
)
from backend.models import Team
from backend.models.user import Role
from backend.teams import repository
from backend.teams.schemas import TeamCreate, TeamUpdate
from backend.users import service as user_service


@dataclass(frozen=True)
class TeamView:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    supervisor_id: uuid.UUID
    member_ids: list[uuid.UUID]
    created_at: datetime
    # Who the members are, so a supervisor can pick a rep by name (the users list is admins').
    members: list["TeamMemberView"]


@dataclass(frozen=True)
class TeamMemberView:
    id: uuid.UUID
    username: str
    display_name: str


async def create_team(session: AsyncSession, principal: Principal, data: TeamCreate) -> TeamView:
    org_id = principal.org_id
    await _require_unique_name(session, org_id, data.name)
    await _require_supervisor(session, org_id, data.supervisor_id)
    await _require_reps(session, org_id, data.member_ids, "/member_ids")
    team = Team(org_id=org_id, name=data.name, supervisor_id=data.supervisor_id)
    session.add(team)
    await session.flush()
    await _add_members(session, team, data.member_ids)
    await _event(session, team, TeamCreated(member_ids=data.member_ids), principal)
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
    await _event(session, team, TeamUpdated(fields=sorted(data.model_fields_set)), principal)
    return await _view(session, team)


async def add_members(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> TeamView:
    team = await _get(session, principal.org_id, team_id)
    await _require_reps(session, team.org_id, user_ids, "/user_ids")
    await _add_members(session, team, user_ids)
    await _event(session, team, TeamMembersAdded(user_ids=user_ids), principal)
    return await _view(session, team)


async def remove_member(
    session: AsyncSession, principal: Principal, team_id: uuid.UUID, user_id: uuid.UUID
) -> TeamView:
    team = await _get(session, principal.org_id, team_id)
    if not await repository.remove_member(session, team.org_id, team.id, user_id):
        raise NotFound("That user is not a member of this team.")
    await _event(session, team, TeamMemberRemoved(user_id=user_id), principal)
    return await _view(session, team)


async def get_team(session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> TeamView:
    team = await repository.visible_by_id(session, principal, team_id)
    if team is None:
        raise NotFound("No such team.")
    return await _view(session, team)


async def list_teams(session: AsyncSession, principal: Principal) -> list[TeamView]:
    return await _views(session, await repository.visible_by_name(session, principal))


async def team_exists(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> bool:
    return await repository.exists(session, org_id, team_id)


async def team_ids_of(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """The teams the user is a member of or supervises, by name."""
    return await repository.ids_of_member_or_supervisor(session, org_id, user_id)


def supervised_rep_ids(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> Select[uuid.UUID]:
    """The reps in the teams a supervisor leads, as a subquery for other domains' filters (the
    ``supervised`` of ``kit.scoping.visible_to``)."""
    return repository.supervised_rep_ids(org_id, supervisor_id)


def led_team_ids(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> Select[uuid.UUID]:
    """The teams a supervisor leads, as a subquery (stores, audits and rectifications are
    scoped by the store's team)."""
    return repository.led_team_ids(org_id, supervisor_id)


async def leads_team(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID | None, user_id: uuid.UUID
) -> bool:
    """Whether ``user_id`` supervises the team ``team_id`` (False for no team)."""
    if team_id is None:
        return False
    team = await repository.by_id(session, org_id, team_id)
    return team is not None and team.supervisor_id == user_id


async def supervisor_of(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The supervisor of the org's team ``team_id``; None without such a team."""
    team = await repository.by_id(session, org_id, team_id) if team_id else None
    return team.supervisor_id if team is not None else None


async def _get(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> Team:
    team = await repository.by_id(session, org_id, team_id)
    if team is None:
        raise NotFound("No such team.")
    return team


async def _require_unique_name(session: AsyncSession, org_id: uuid.UUID, name: str) -> None:
    if await repository.name_taken(session, org_id, name):
        raise Conflict(f"A team named {name!r} already exists.", field="name")


async def _require_supervisor(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    role = await user_service.active_role(session, org_id, user_id)
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
    found = await user_service.rep_ids_among(session, org_id, user_ids)
    bad = [
        FieldError(f"{pointer}/{i}", "not a rep of this organization", "invalid_member")
        for i, user_id in enumerate(user_ids)
        if user_id not in found
    ]
    if bad:
        raise ValidationFailed("Team members must be reps of this organization.", errors=bad)


async def _add_members(session: AsyncSession, team: Team, user_ids: list[uuid.UUID]) -> None:
    await repository.add_members(session, team.org_id, team.id, user_ids)


async def _event(
    session: AsyncSession, team: Team, payload: EventPayload, principal: Principal
) -> None:
    await events.record(
        session, payload, org_id=team.org_id, subject_id=team.id, actor_id=principal.user_id
    )


async def _view(session: AsyncSession, team: Team) -> TeamView:
    return (await _views(session, [team]))[0]


async def _views(session: AsyncSession, teams: Sequence[Team]) -> list[TeamView]:
    if not teams:
        return []
    org_id = teams[0].org_id
    members = await repository.member_ids(session, org_id, [t.id for t in teams])
    people = await user_service.users_by_id(
        session, org_id, {user_id for ids in members.values() for user_id in ids}
    )
    return [
        TeamView(
            t.id,
            t.org_id,
            t.name,
            t.supervisor_id,
            members[t.id],
            t.created_at,
            [
                TeamMemberView(user_id, people[user_id].username, people[user_id].display_name)
                for user_id in members[t.id]
                if user_id in people
            ],
        )
        for t in teams
    ]
