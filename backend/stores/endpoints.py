import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from backend.auth.dependencies import Admin, AnyUser, SettingsDep
from backend.kit.deps import SessionDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.schemas import CleanStr
from backend.stores import service
from backend.stores.schemas import (
    ImportResult,
    PosterBatch,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])

NO_STORE = {"Cache-Control": "no-store"}
# The QR images and posters encode the door code, so, like ``qr_url``, they are for admins only
# (``service.shows_door_code``): a rep or supervisor who could fetch one could check in from home.


def _binary(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": description}}


@router.post(
    "",
    operation_id="stores_create",
    status_code=status.HTTP_201_CREATED,
    response_model=StoreRead,
)
async def create_store(
    session: SessionDep, settings: SettingsDep, principal: Admin, body: StoreCreate
) -> StoreRead:
    store = await service.create_store(session, settings, principal.org_id, body, principal.user_id)
    return await service.to_read(
        session, settings, store, door_code=service.shows_door_code(principal)
    )


@router.get(
    "",
    operation_id="stores_list",
    response_model=Page[StoreRead],
    description="Each store's `qr_url` (door code) is given to admins only; null for others.",
)
async def list_stores(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        CleanStr | None,
        Query(max_length=200, description="Substring of code, name or address (any case)"),
    ] = None,
    customer_type: Annotated[CleanStr | None, Query(max_length=40)] = None,
    team_id: Annotated[uuid.UUID | None, Query()] = None,
    near: Annotated[
        str | None,
        Query(
            max_length=64,
            description="`lat,lng`: nearest first, each item with `distance_m`",
            examples=["31.2304,121.4737"],
        ),
    ] = None,
) -> Page[StoreRead]:
    filters = service.StoreFilters(
        q=q.strip() if q else None,
        customer_type=customer_type.strip().lower() if customer_type else None,
        team_id=team_id,
        near=service.parse_near(near),
    )
    items, cursor = await service.list_stores(
        session,
        settings,
        principal.org_id,
        filters,
        page,
        door_code=service.shows_door_code(principal),
    )
    return Page(items=items, next_cursor=cursor)


@router.post("/import", operation_id="stores_import", response_model=ImportResult)
async def import_stores(
    session: SessionDep,
    settings: SettingsDep,
    principal: Admin,
    file: Annotated[
        UploadFile,
        File(
            description="CSV: code,name,address,lat,lng,geofence_radius_m,customer_type,team "
            "(UTF-8 with or without BOM, or GB18030); at most 20,000 rows"
        ),
    ],
) -> ImportResult:
    content = await file.read()
    return await service.import_stores(session, settings, principal, content)


@router.post(
    "/posters.pdf",
    operation_id="stores_posters_batch",
    response_class=Response,
    responses={
        **_binary("application/pdf", "One A4 poster per store"),
        404: {"description": "Some ids are not stores of this organization (each one listed)"},
    },
)
async def posters_pdf(
    session: SessionDep, settings: SettingsDep, principal: Admin, body: PosterBatch
) -> Response:
    pdf = await service.posters_pdf(session, settings, principal.org_id, body.store_ids)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": 'inline; filename="store-posters.pdf"'},
    )


@router.get(
    "/{store_id}",
    operation_id="stores_get",
    response_model=StoreRead,
    description="`qr_url` (the door code) is given to admins only; null for others.",
)
async def get_store(
    session: SessionDep, settings: SettingsDep, principal: AnyUser, store_id: uuid.UUID
) -> StoreRead:
    store = await service.get_store(session, principal.org_id, store_id)
    return await service.to_read(
        session, settings, store, door_code=service.shows_door_code(principal)
    )


@router.patch("/{store_id}", operation_id="stores_update", response_model=StoreRead)
async def update_store(
    session: SessionDep,
    settings: SettingsDep,
    principal: Admin,
    store_id: uuid.UUID,
    body: StoreUpdate,
) -> StoreRead:
    store = await service.update_store(session, principal, store_id, body)
    return await service.to_read(
        session, settings, store, door_code=service.shows_door_code(principal)
    )


@router.post("/{store_id}/qr/rotate", operation_id="stores_rotate_qr", response_model=StoreRead)
async def rotate_qr(
    session: SessionDep, settings: SettingsDep, principal: Admin, store_id: uuid.UUID
) -> StoreRead:
    store = await service.rotate_qr(session, principal, store_id)
    return await service.to_read(session, settings, store, door_code=True)


@router.get(
    "/{store_id}/qr.png",
    operation_id="stores_qr_png",
    response_class=Response,
    responses=_binary("image/png", "The store's QR code"),
)
async def qr_png(
    session: SessionDep, settings: SettingsDep, principal: Admin, store_id: uuid.UUID
) -> Response:
    png = await service.qr_png(session, settings, principal.org_id, store_id)
    return Response(png, media_type="image/png", headers=NO_STORE)


@router.get(
    "/{store_id}/qr.svg",
    operation_id="stores_qr_svg",
    response_class=Response,
    responses=_binary("image/svg+xml", "The store's QR code"),
)
async def qr_svg(
    session: SessionDep, settings: SettingsDep, principal: Admin, store_id: uuid.UUID
) -> Response:
    svg = await service.qr_svg(session, settings, principal.org_id, store_id)
    return Response(svg, media_type="image/svg+xml", headers=NO_STORE)


@router.get(
    "/{store_id}/poster.pdf",
    operation_id="stores_poster",
    response_class=Response,
    responses=_binary("application/pdf", "An A4 poster with the store's QR code"),
)
async def poster_pdf(
    session: SessionDep, settings: SettingsDep, principal: Admin, store_id: uuid.UUID
) -> Response:
    pdf = await service.poster_pdf(session, settings, principal.org_id, store_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'inline; filename="store-{store_id}.pdf"'},
    )
