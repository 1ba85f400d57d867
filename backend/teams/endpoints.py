import uuid

from fastapi import APIRouter, status

from backend.auth.dependencies import Admin, AnyUser
from backend.kit.deps import SessionDep
from backend.teams import service
from backend.teams.schemas import TeamCreate, TeamMembersAdd, TeamRead, TeamUpdate

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


@router.post(
    "", operation_id="teams_create", status_code=status.HTTP_201_CREATED, response_model=TeamRead
)
async def create_team(session: SessionDep, principal: Admin, body: TeamCreate) -> TeamRead:
    return TeamRead.model_validate(await service.create_team(session, principal, body))


@router.get("", operation_id="teams_list", response_model=list[TeamRead])
async def list_teams(session: SessionDep, principal: AnyUser) -> list[TeamRead]:
    return [TeamRead.model_validate(t) for t in await service.list_teams(session, principal)]


@router.get("/{team_id}", operation_id="teams_get", response_model=TeamRead)
async def get_team(session: SessionDep, principal: AnyUser, team_id: uuid.UUID) -> TeamRead:
    return TeamRead.model_validate(await service.get_team(session, principal, team_id))


@router.patch("/{team_id}", operation_id="teams_update", response_model=TeamRead)
async def update_team(
    session: SessionDep, principal: Admin, team_id: uuid.UUID, body: TeamUpdate
) -> TeamRead:
    return TeamRead.model_validate(await service.update_team(session, principal, team_id, body))


@router.post("/{team_id}/members", operation_id="teams_add_members", response_model=TeamRead)
async def add_members(
    session: SessionDep, principal: Admin, team_id: uuid.UUID, body: TeamMembersAdd
) -> TeamRead:
    view = await service.add_members(session, principal, team_id, body.user_ids)
    return TeamRead.model_validate(view)


@router.delete(
    "/{team_id}/members/{user_id}", operation_id="teams_remove_member", response_model=TeamRead
)
async def remove_member(
    session: SessionDep, principal: Admin, team_id: uuid.UUID, user_id: uuid.UUID
) -> TeamRead:
    return TeamRead.model_validate(
        await service.remove_member(session, principal, team_id, user_id)
    )
