import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.deps import SessionDep, StorageDep
from backend.kit.schemas import ResponseSchema, Schema, UtcDatetime
from backend.kit.time import utc_now
from backend.models import PhotoKind
from backend.summaries import page, service
from backend.summaries.schemas import SummaryRead

router = APIRouter(prefix="/api/v1/visits", tags=["summaries"])
pages = APIRouter(tags=["summaries"])

Locale = Literal["zh-CN", "en"]


class ShareRequest(Schema):
    ttl_hours: Annotated[int, Field(ge=1, le=720)] | None = None


class ShareRead(ResponseSchema):
    url: str
    expires_at: UtcDatetime


@router.get("/{visit_id}/summary", operation_id="visits_summary")
async def get_summary(session: SessionDep, principal: AnyUser, visit_id: uuid.UUID) -> SummaryRead:
    return await service.summary_of(session, principal, visit_id)


@router.get(
    "/{visit_id}/summary.png",
    operation_id="visits_summary_png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The shareable card"}},
)
async def get_summary_png(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    locale: Locale = "zh-CN",
) -> Response:
    data = await service.summary_png(session, settings, storage, principal, visit_id, locale)
    return Response(
        data,
        media_type="image/png",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"},
    )


@router.post("/{visit_id}/share", operation_id="visits_share", response_model=ShareRead)
async def share_visit(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    visit_id: uuid.UUID,
    body: ShareRequest | None = None,
) -> ShareRead:
    ttl = body.ttl_hours if body is not None else None
    link = await service.create_share_link(session, settings, principal, visit_id, ttl, utc_now())
    return ShareRead(url=link.url, expires_at=link.expires_at)


_PAGE_HEADERS = {
    "Content-Security-Policy": page.CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}


@pages.get("/s/{token}", include_in_schema=False)
async def shared_summary_page(
    session: SessionDep, settings: SettingsDep, token: str, locale: Locale = "zh-CN"
) -> Response:
    view = await service.shared_visit(session, settings, token, utc_now())
    summary = view.visit.summary or {}
    photos = {kind: f"/s/{token}/photos/{kind}" for kind in summary.get("photos", {})}
    html = page.render_summary_page(summary, locale=locale, photo_urls=photos)
    return Response(html, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@pages.get("/s/{token}/photos/{kind}", include_in_schema=False)
async def shared_photo(
    session: SessionDep, settings: SettingsDep, storage: StorageDep, token: str, kind: PhotoKind
) -> Response:
    data = await service.shared_thumbnail(session, settings, storage, token, kind, utc_now())
    return Response(data, media_type="image/jpeg", headers=_PAGE_HEADERS)
