import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from backend.audits import presenters, service
from backend.audits.checklist import ChecklistInput
from backend.audits.schemas import (
    AbandonRequest,
    AuditRead,
    AuditStartRequest,
    AuditTemplateCreate,
    AuditTemplateRead,
    ChecklistRead,
    ResultsRequest,
    SubmitRequest,
)
from backend.auth.dependencies import Admin, AnyUser, Manager, SettingsDep
from backend.kit.deps import SessionDep, StorageDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.schemas import UtcDatetime
from backend.kit.time import utc_now
from backend.photos.http import IMAGE_RESPONSES, image_response
from backend.photos.processing import read_limited

templates = APIRouter(prefix="/api/v1/audit-templates", tags=["audits"])
router = APIRouter(prefix="/api/v1/audits", tags=["audits"])

ChecklistVersion = Annotated[
    int | None,
    Query(ge=1, le=2_147_483_647, description="A version number; the latest if left out."),
]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only supervisors of the store's team and admins audit."},
    404: {"description": "No such audit in your organization."},
    409: {"description": "The audit is no longer open (`audit_not_open`)."},
}


# --- templates ---------------------------------------------------------------------------------


@templates.get("", operation_id="audit_templates_list", response_model=list[AuditTemplateRead])
async def list_templates(session: SessionDep, principal: AnyUser) -> list[AuditTemplateRead]:
    """The organization's audit templates, each with its latest checklist."""
    views = await service.list_templates(session, principal.org_id)
    return [presenters.template_read(v) for v in views]


@templates.post(
    "",
    operation_id="audit_templates_create",
    status_code=status.HTTP_201_CREATED,
    response_model=AuditTemplateRead,
    responses={409: {"description": "A template with this key exists."}},
)
async def create_template(
    session: SessionDep, principal: Admin, body: AuditTemplateCreate
) -> AuditTemplateRead:
    view = await service.create_template(session, principal.org_id, body, principal.user_id)
    return presenters.template_read(view)


@templates.get(
    "/{key}/checklist",
    operation_id="audit_templates_checklist_get",
    response_model=ChecklistRead,
    responses={404: {"description": "No such template or version."}},
)
async def get_checklist(
    session: SessionDep, principal: AnyUser, key: str, version: ChecklistVersion = None
) -> ChecklistRead:
    checklist = await service.checklist_of(session, principal.org_id, key, version)
    return presenters.checklist_out(checklist)


@templates.put(
    "/{key}/checklist",
    operation_id="audit_templates_checklist_publish",
    response_model=ChecklistRead,
    responses={404: {"description": "No such template."}},
)
async def publish_checklist(
    session: SessionDep, principal: Admin, key: str, body: ChecklistInput
) -> ChecklistRead:
    """Publish the items as the template's next checklist version (old versions stay: each
    audit keeps the version it started with). Items identical to the latest publish nothing."""
    checklist = await service.publish_checklist(
        session, principal.org_id, key, body, principal.user_id
    )
    return presenters.checklist_out(checklist)


# --- audits ------------------------------------------------------------------------------------


@router.post(
    "",
    operation_id="audits_start",
    summary="Start an audit tour at a store by its door QR code",
    status_code=status.HTTP_201_CREATED,
    response_model=AuditRead,
    responses={
        200: {"description": "A replay of an audit already started"},
        403: {"description": "Only supervisors of the store's team and admins audit."},
        409: {"description": "Another audit is open (`audit_already_open`), or id reused."},
        422: {"description": "`invalid_qr`, `outside_geofence` (as a check-in)."},
    },
)
async def start_audit(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    body: AuditStartRequest,
    response: Response,
) -> AuditRead:
    now = utc_now()  # the audit's server_received_at
    started = await service.start(session, settings, principal, body, now)
    if not started.created:
        response.status_code = status.HTTP_200_OK
    return presenters.audit_read(started.view, now)


@router.get("", operation_id="audits_list", response_model=Page[AuditRead])
async def list_audits(
    session: SessionDep,
    principal: Manager,
    page: Annotated[PageParams, Depends(page_params)],
    store_id: uuid.UUID | None = None,
    auditor_id: uuid.UUID | None = None,
    from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    to: UtcDatetime | None = None,
) -> Page[AuditRead]:
    """Audits newest first: a supervisor's own and those of their teams' stores; an admin's
    organization's."""
    now = utc_now()
    views, cursor = await service.list_audits(
        session, principal, page, store_id=store_id, auditor_id=auditor_id, from_=from_, to=to,
        now=now,
    )  # fmt: skip
    return Page(items=[presenters.audit_read(v, now) for v in views], next_cursor=cursor)


@router.get("/{audit_id}", operation_id="audits_get", response_model=AuditRead, responses=_REFUSALS)
async def get_audit(session: SessionDep, principal: AnyUser, audit_id: uuid.UUID) -> AuditRead:
    now = utc_now()
    return presenters.audit_read(await service.get_audit(session, principal, audit_id, now), now)


@router.put(
    "/{audit_id}/results",
    operation_id="audits_put_results",
    response_model=AuditRead,
    responses={**_REFUSALS, 422: {"description": "`invalid_audit` with a pointer per entry."}},
)
async def put_results(
    session: SessionDep, principal: AnyUser, audit_id: uuid.UUID, body: ResultsRequest
) -> AuditRead:
    """Merge results into the audit (items not named keep theirs)."""
    now = utc_now()
    view = await service.save_results(session, principal, audit_id, body.results, now)
    return presenters.audit_read(view, now)


@router.put(
    "/{audit_id}/items/{item_key}/photo",
    operation_id="audits_put_item_photo",
    response_model=AuditRead,
    responses={**_REFUSALS, 201: {"description": "A new or replaced photo"}},
)
async def put_item_photo(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    principal: AnyUser,
    audit_id: uuid.UUID,
    item_key: str,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC; at most 10 MiB")],
    response: Response,
) -> AuditRead:
    data = await read_limited(file)
    now = utc_now()
    view, changed = await service.put_item_photo(
        session, settings, storage, principal, audit_id, item_key, data, now
    )
    response.status_code = status.HTTP_201_CREATED if changed else status.HTTP_200_OK
    return presenters.audit_read(view, now)


@router.get(
    "/{audit_id}/items/{item_key}/photo",
    operation_id="audits_get_item_photo",
    response_class=Response,
    responses={**IMAGE_RESPONSES, 404: {"description": "No such audit or photo."}},
)
async def get_item_photo(
    session: SessionDep,
    storage: StorageDep,
    principal: AnyUser,
    audit_id: uuid.UUID,
    item_key: str,
    thumb: bool = False,
) -> Response:
    data, etag = await service.item_photo_file(
        session, storage, principal, audit_id, item_key, thumbnail=thumb
    )
    return image_response(data, etag + ("-thumb" if thumb else ""))


@router.post(
    "/{audit_id}/submit",
    operation_id="audits_submit",
    response_model=AuditRead,
    responses={
        **_REFUSALS,
        422: {"description": "`audit_incomplete` with `missing`, or a bad rectification."},
    },
)
async def submit_audit(
    session: SessionDep, principal: AnyUser, audit_id: uuid.UUID, body: SubmitRequest | None = None
) -> AuditRead:
    """Score the audit; every failed item becomes a rectification."""
    now = utc_now()
    view = await service.submit(session, principal, audit_id, body or SubmitRequest(), now)
    return presenters.audit_read(view, now)


@router.post(
    "/{audit_id}/abandon",
    operation_id="audits_abandon",
    response_model=AuditRead,
    responses=_REFUSALS,
)
async def abandon_audit(
    session: SessionDep, principal: AnyUser, audit_id: uuid.UUID, body: AbandonRequest
) -> AuditRead:
    now = utc_now()
    view = await service.abandon(session, principal, audit_id, body.reason, now)
    return presenters.audit_read(view, now)
