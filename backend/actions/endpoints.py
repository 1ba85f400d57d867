import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from backend.actions import service
from backend.actions.schemas import (
    CompleteRequest,
    NextActionDetail,
    NextActionFilters,
    NextActionPage,
    NextActionRead,
    RescheduleRead,
    RescheduleRequest,
    StatusFilter,
)
from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.deps import SessionDep
from backend.kit.pagination import PageParams, page_params
from backend.kit.schemas import UtcDatetime
from backend.kit.time import utc_now

router = APIRouter(prefix="/api/v1/next-actions", tags=["next actions"])


@router.get("", operation_id="next_actions_list", response_model=NextActionPage)
async def list_actions(
    session: SessionDep,
    principal: AnyUser,
    page: Annotated[PageParams, Depends(page_params)],
    assignee: Annotated[
        Literal["me"] | uuid.UUID | None, Query(description="`me` or a user id")
    ] = None,
    status: Annotated[
        StatusFilter | None, Query(description="`overdue`: open and past due")
    ] = None,
    due_before: UtcDatetime | None = None,
) -> NextActionPage:
    """Visible next actions, soonest due first (reps: their own; supervisors: their teams')."""
    now = utc_now()
    filters = NextActionFilters(assignee=assignee, status=status, due_before=due_before)
    items, cursor = await service.list_actions(session, principal, filters, page, now)
    return NextActionPage(
        items=await service.reads(session, items, now), next_cursor=cursor, server_time=now
    )


@router.get("/{action_id}", operation_id="next_actions_get", response_model=NextActionDetail)
async def get_action(
    session: SessionDep, principal: AnyUser, action_id: uuid.UUID
) -> NextActionDetail:
    """One next action with its reschedule history."""
    action, history = await service.get_action(session, principal, action_id)
    return NextActionDetail(
        **(await service.read(session, action, utc_now())).model_dump(),
        reschedules=[RescheduleRead.model_validate(r) for r in history],
    )


@router.post(
    "/{action_id}/complete", operation_id="next_actions_complete", response_model=NextActionRead
)
async def complete(
    session: SessionDep, principal: AnyUser, action_id: uuid.UUID, body: CompleteRequest
) -> NextActionRead:
    """Mark the action done (only the rep it is assigned to)."""
    now = utc_now()
    action = await service.complete(session, principal, action_id, body.note, now)
    return await service.read(session, action, now)


@router.post(
    "/{action_id}/reschedule",
    operation_id="next_actions_reschedule",
    response_model=NextActionRead,
)
async def reschedule(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    action_id: uuid.UUID,
    body: RescheduleRequest,
) -> NextActionRead:
    """Move the due time, with a reason (only the assignee; counted and shown to supervisors)."""
    now = utc_now()
    action = await service.reschedule(session, settings, principal, action_id, body, now)
    return await service.read(session, action, now)
