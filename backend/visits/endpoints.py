import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.deps import SessionDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.schemas import UtcDatetime
from backend.models.visit import VisitStatus
from backend.visits import service
from backend.visits.presenters import visit_read
from backend.visits.schemas import AbandonRequest, CheckInRequest, VisitFilters, VisitRead

router = APIRouter(prefix="/api/v1/visits", tags=["visits"])


@router.post(
    "",
    operation_id="visits_check_in",
    summary="Check in at a store by its door QR code",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitRead,
    responses={200: {"description": "A replay of a check-in already recorded"}},
)
async def check_in(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    body: CheckInRequest,
    response: Response,
) -> VisitRead:
    view, created = await service.check_in(session, settings, principal, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return visit_read(view)


@router.get("", operation_id="visits_list", response_model=Page[VisitRead])
async def list_visits(
    session: SessionDep,
    principal: AnyUser,
    page: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[VisitStatus | None, Query(alias="status")] = None,
    rep_id: uuid.UUID | None = None,
    store_id: uuid.UUID | None = None,
    from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    to: UtcDatetime | None = None,
    flagged: bool | None = None,
) -> Page[VisitRead]:
    filters = VisitFilters(
        status=status_, rep_id=rep_id, store_id=store_id, from_=from_, to=to, flagged=flagged
    )
    views, cursor = await service.list_visits(session, principal, filters, page)
    return Page(items=[visit_read(v) for v in views], next_cursor=cursor)


@router.get("/{visit_id}", operation_id="visits_get", response_model=VisitRead)
async def get_visit(session: SessionDep, principal: AnyUser, visit_id: uuid.UUID) -> VisitRead:
    return visit_read(await service.get_visit(session, principal, visit_id))


@router.post("/{visit_id}/abandon", operation_id="visits_abandon", response_model=VisitRead)
async def abandon(
    session: SessionDep, principal: AnyUser, visit_id: uuid.UUID, body: AbandonRequest
) -> VisitRead:
    return visit_read(await service.abandon(session, principal, visit_id, body.reason))
