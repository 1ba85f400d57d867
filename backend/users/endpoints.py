import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from backend.auth.dependencies import Admin, AnyUser
from backend.kit.deps import SessionDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.time import utc_now
from backend.models.user import Role
from backend.users import service
from backend.users.schemas import Me, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/me", operation_id="me_get", response_model=Me, summary="The signed-in user")
async def get_me(session: SessionDep, principal: AnyUser) -> Me:
    user = await service.get_user(session, principal.org_id, principal.user_id)
    team_ids = await service.team_ids_of(session, principal.org_id, principal.user_id)
    return Me.model_validate({**UserRead.model_validate(user).model_dump(), "team_ids": team_ids})


@router.post(
    "/users",
    operation_id="users_create",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
)
async def create_user(session: SessionDep, principal: Admin, body: UserCreate) -> UserRead:
    user = await service.create_user(session, principal.org_id, body, principal.user_id)
    return UserRead.model_validate(user)


@router.get("/users", operation_id="users_list", response_model=Page[UserRead])
async def list_users(
    session: SessionDep,
    principal: Admin,
    page: Annotated[PageParams, Depends(page_params)],
    role: Annotated[Role | None, Query()] = None,
) -> Page[UserRead]:
    users, cursor = await service.list_users(session, principal.org_id, page, role)
    return Page(items=[UserRead.model_validate(u) for u in users], next_cursor=cursor)


@router.get("/users/{user_id}", operation_id="users_get", response_model=UserRead)
async def get_user(session: SessionDep, principal: Admin, user_id: uuid.UUID) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, principal.org_id, user_id))


@router.patch("/users/{user_id}", operation_id="users_update", response_model=UserRead)
async def update_user(
    session: SessionDep, principal: Admin, user_id: uuid.UUID, body: UserUpdate
) -> UserRead:
    user = await service.update_user(session, principal, user_id, body, utc_now())
    return UserRead.model_validate(user)
