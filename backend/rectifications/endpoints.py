import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.deps import SessionDep, StorageDep
from backend.kit.pagination import PageParams, page_params
from backend.kit.time import utc_now
from backend.models.rectification import RectificationStatus
from backend.photos.http import IMAGE_RESPONSES, image_response
from backend.photos.processing import read_limited
from backend.rectifications import service
from backend.rectifications.schemas import (
    RectificationFilters,
    RectificationPage,
    RectificationRead,
    ReopenRequest,
    SubmitRequest,
    VerifyRequest,
)

router = APIRouter(prefix="/api/v1/rectifications", tags=["rectifications"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "`not_found`: no such rectification that you can see."}
}
_FORBIDDEN_ASSIGNEE: dict[int | str, dict[str, Any]] = {
    403: {"description": "`forbidden`: only the assignee fixes a rectification."}
}
_FORBIDDEN_JUDGE: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "`forbidden`: only a supervisor of the store's team, the auditor who "
        "raised it, or an admin."
    }
}


@router.get("", operation_id="rectifications_list", response_model=RectificationPage)
async def list_rectifications(
    session: SessionDep,
    principal: AnyUser,
    page: Annotated[PageParams, Depends(page_params)],
    assignee: Annotated[
        Literal["me"] | uuid.UUID | None, Query(description="`me` or a user id")
    ] = None,
    status_: Annotated[RectificationStatus | None, Query(alias="status")] = None,
    overdue: Annotated[
        bool | None, Query(description="`true`: still owed and past due; `false`: not overdue")
    ] = None,
    store_id: uuid.UUID | None = None,
) -> RectificationPage:
    """Visible rectifications, soonest due first (reps: their own; supervisors: their teams'
    stores and reps, and those they raised; admins: the org's)."""
    now = utc_now()
    filters = RectificationFilters(
        assignee=assignee, status=status_, overdue=overdue, store_id=store_id
    )
    items, cursor = await service.list_rectifications(session, principal, filters, page, now)
    return RectificationPage(items=items, next_cursor=cursor, server_time=now)


@router.get(
    "/{rectification_id}",
    operation_id="rectifications_get",
    response_model=RectificationRead,
    responses=_NOT_FOUND,
)
async def get_rectification(
    session: SessionDep, principal: AnyUser, rectification_id: uuid.UUID
) -> RectificationRead:
    """One rectification with its full history."""
    return await service.get_rectification(session, principal, rectification_id, utc_now())


async def _photo(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    rectification_id: uuid.UUID,
    which: str,
    thumb: bool,
) -> Response:
    data, etag = await service.photo_file(
        session, storage, principal, rectification_id, which, thumbnail=thumb
    )
    return image_response(data, etag)


_THUMB = Query(description="`true` (or `1`): the thumbnail")


@router.get(
    "/{rectification_id}/before-photo",
    operation_id="rectifications_get_before_photo",
    response_class=Response,
    responses={
        **IMAGE_RESPONSES,
        404: {"description": "`not_found`: no such rectification, or its item has no photo."},
    },
)
async def get_before_photo(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    rectification_id: uuid.UUID,
    thumb: Annotated[bool, _THUMB] = False,
) -> Response:
    """The audit item's photo: the problem as the auditor found it."""
    return await _photo(session, storage, principal, rectification_id, "before", thumb)


@router.get(
    "/{rectification_id}/after-photo",
    operation_id="rectifications_get_after_photo",
    response_class=Response,
    responses={
        **IMAGE_RESPONSES,
        404: {"description": "`not_found`: no such rectification, or no after photo yet."},
    },
)
async def get_after_photo(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    rectification_id: uuid.UUID,
    thumb: Annotated[bool, _THUMB] = False,
) -> Response:
    """The assignee's after photo: the fix, taken at the store."""
    return await _photo(session, storage, principal, rectification_id, "after", thumb)


@router.put(
    "/{rectification_id}/after-photo",
    operation_id="rectifications_put_after_photo",
    summary="Take the after photo during an open visit at the store",
    response_model=RectificationRead,
    responses={
        201: {"description": "The after photo was added or replaced"},
        **_FORBIDDEN_ASSIGNEE,
        **_NOT_FOUND,
        409: {
            "description": "`rectification_not_open`: submitted or verified; `not_at_store`: "
            "no open visit at the rectification's store (`open_visit_store_id` names the store "
            "of the open visit, or is null)."
        },
        413: {"description": "`photo_too_large`"},
        422: {"description": "`invalid_photo`"},
    },
)
async def put_after_photo(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    principal: AnyUser,
    rectification_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC; at most 10 MiB")],
    response: Response,
) -> RectificationRead:
    """Add or replace the after photo (only the assignee; the same bytes again: 200, no
    change)."""
    now = utc_now()
    data = await read_limited(file)
    rect, changed = await service.put_after_photo(
        session, settings, storage, principal, rectification_id, data, now
    )
    response.status_code = status.HTTP_201_CREATED if changed else status.HTTP_200_OK
    return await service.read(session, rect, now)


@router.post(
    "/{rectification_id}/submit",
    operation_id="rectifications_submit",
    response_model=RectificationRead,
    responses={
        **_FORBIDDEN_ASSIGNEE,
        **_NOT_FOUND,
        409: {"description": "`rectification_not_open`: already submitted otherwise, or verified"},
        422: {
            "description": '`rectification_incomplete` with `missing: ["after_photo"]` (none '
            "taken since the last reopen)"
        },
    },
)
async def submit(
    session: SessionDep, principal: AnyUser, rectification_id: uuid.UUID, body: SubmitRequest
) -> RectificationRead:
    """Submit the fix for verification (only the assignee)."""
    now = utc_now()
    rect = await service.submit(session, principal, rectification_id, body.note, now)
    return await service.read(session, rect, now)


_JUDGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    **_FORBIDDEN_JUDGE,
    **_NOT_FOUND,
    409: {"description": "`rectification_not_submitted`: there is no submitted fix to judge"},
}


@router.post(
    "/{rectification_id}/verify",
    operation_id="rectifications_verify",
    response_model=RectificationRead,
    responses=_JUDGE_REFUSALS,
)
async def verify(
    session: SessionDep, principal: AnyUser, rectification_id: uuid.UUID, body: VerifyRequest
) -> RectificationRead:
    """Accept the submitted fix."""
    now = utc_now()
    rect = await service.verify(session, principal, rectification_id, body.comment, now)
    return await service.read(session, rect, now)


@router.post(
    "/{rectification_id}/reopen",
    operation_id="rectifications_reopen",
    response_model=RectificationRead,
    responses={**_JUDGE_REFUSALS, 422: {"description": "`validation_error`: `reason` required"}},
)
async def reopen(
    session: SessionDep, principal: AnyUser, rectification_id: uuid.UUID, body: ReopenRequest
) -> RectificationRead:
    """Hand the fix back to the assignee with a reason; they must take a new after photo."""
    now = utc_now()
    rect = await service.reopen(session, principal, rectification_id, body.reason, now)
    return await service.read(session, rect, now)
