import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from backend.actions.schemas import NextActionInput, NextActionRead
from backend.auth.dependencies import AnyUser, Manager, SettingsDep, TokenPrincipal
from backend.db import session_scope
from backend.kit.deps import SessionDep, SessionMakerDep, SqlConnectionDep, StorageDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.schemas import UtcDatetime
from backend.kit.time import utc_now
from backend.models.photo import PhotoKind
from backend.models.visit import VisitStatus
from backend.photos.http import IMAGE_RESPONSES, image_response
from backend.photos.processing import read_limited
from backend.visits import check_in as check_in_service
from backend.visits import completion, photos, reviews, service
from backend.visits.presenters import photo_read, visit_read
from backend.visits.schemas import (
    AbandonRequest,
    AnswersRequest,
    ApproveRequest,
    CheckInRequest,
    PhotoRead,
    RejectRequest,
    VisitFilters,
    VisitRead,
)

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
    connection: SqlConnectionDep,
    sessions: SessionMakerDep,
    settings: SettingsDep,
    principal: TokenPrincipal,  # the check-in's own read checks that it is still current
    body: CheckInRequest,
    response: Response,
) -> VisitRead:
    now = utc_now()  # the check-in's server_received_at
    outcome = await check_in_service.check_in(connection, settings, principal, body, now)
    if isinstance(outcome, check_in_service.Replay):
        response.status_code = status.HTTP_200_OK
        async with session_scope(sessions) as session:
            return visit_read(await service.get_visit(session, principal, outcome.visit_id), now)
    return visit_read(outcome, now)


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
    now = utc_now()
    return Page(items=[visit_read(v, now) for v in views], next_cursor=cursor)


@router.get("/{visit_id}", operation_id="visits_get", response_model=VisitRead)
async def get_visit(session: SessionDep, principal: AnyUser, visit_id: uuid.UUID) -> VisitRead:
    return visit_read(await service.get_visit(session, principal, visit_id), utc_now())


@router.post("/{visit_id}/abandon", operation_id="visits_abandon", response_model=VisitRead)
async def abandon(
    session: SessionDep, principal: AnyUser, visit_id: uuid.UUID, body: AbandonRequest
) -> VisitRead:
    now = utc_now()
    return visit_read(await service.abandon(session, principal, visit_id, body.reason, now), now)


@router.put(
    "/{visit_id}/photos/{kind}",
    operation_id="visits_put_photo",
    summary="Add or replace one of the visit's three photos",
    response_model=PhotoRead,
    responses={201: {"description": "A new or replaced photo"}},
)
async def put_photo(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    kind: PhotoKind,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC; at most 10 MiB")],
    response: Response,
) -> PhotoRead:
    data = await read_limited(file)
    photo, changed = await photos.put_photo(
        session, settings, storage, principal, visit_id, kind, data, utc_now()
    )
    response.status_code = status.HTTP_201_CREATED if changed else status.HTTP_200_OK
    return photo_read(photo)


@router.get(
    "/{visit_id}/photos/{kind}",
    operation_id="visits_get_photo",
    response_class=Response,
    responses=IMAGE_RESPONSES,
)
async def get_photo(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    kind: PhotoKind,
) -> Response:
    data, etag = await photos.photo_file(
        session, storage, principal, visit_id, kind, thumbnail=False
    )
    return image_response(data, etag)


@router.get(
    "/{visit_id}/photos/{kind}/thumb",
    operation_id="visits_get_photo_thumb",
    response_class=Response,
    responses=IMAGE_RESPONSES,
)
async def get_photo_thumb(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    kind: PhotoKind,
) -> Response:
    data, etag = await photos.photo_file(
        session, storage, principal, visit_id, kind, thumbnail=True
    )
    return image_response(data, etag + "-thumb")


@router.put("/{visit_id}/answers", operation_id="visits_put_answers", response_model=VisitRead)
async def put_answers(
    session: SessionDep, principal: AnyUser, visit_id: uuid.UUID, body: AnswersRequest
) -> VisitRead:
    now = utc_now()
    view = await completion.put_answers(session, principal, visit_id, body.answers, now)
    return visit_read(view, now)


@router.put(
    "/{visit_id}/next-action",
    operation_id="visits_put_next_action",
    response_model=NextActionRead,
    responses={201: {"description": "A new or replaced next action"}},
)
async def put_next_action(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    body: NextActionInput,
    response: Response,
) -> NextActionRead:
    action, changed = await completion.put_next_action(
        session, settings, principal, visit_id, body, utc_now()
    )
    response.status_code = status.HTTP_201_CREATED if changed else status.HTTP_200_OK
    return action


@router.post("/{visit_id}/submit", operation_id="visits_submit", response_model=VisitRead)
async def submit(
    session: SessionDep, settings: SettingsDep, principal: AnyUser, visit_id: uuid.UUID
) -> VisitRead:
    now = utc_now()
    return visit_read(await completion.submit(session, settings, principal, visit_id, now), now)


@router.post("/{visit_id}/approve", operation_id="visits_approve", response_model=VisitRead)
async def approve(
    session: SessionDep, principal: AnyUser, visit_id: uuid.UUID, body: ApproveRequest
) -> VisitRead:
    now = utc_now()
    return visit_read(await reviews.approve(session, principal, visit_id, body.comment, now), now)


@router.post("/{visit_id}/reject", operation_id="visits_reject", response_model=VisitRead)
async def reject(
    session: SessionDep, principal: AnyUser, visit_id: uuid.UUID, body: RejectRequest
) -> VisitRead:
    now = utc_now()
    return visit_read(await reviews.reject(session, principal, visit_id, body.reason, now), now)


queue_router = APIRouter(prefix="/api/v1/review-queue", tags=["visits"])


@queue_router.get("", operation_id="review_queue", response_model=Page[VisitRead])
async def review_queue(
    session: SessionDep,
    principal: Manager,
    page: Annotated[PageParams, Depends(page_params)],
    flagged: bool | None = None,
    rep_id: uuid.UUID | None = None,
) -> Page[VisitRead]:
    views, cursor = await reviews.review_queue(
        session, principal, page, flagged=flagged, rep_id=rep_id
    )
    now = utc_now()
    return Page(items=[visit_read(v, now) for v in views], next_cursor=cursor)
