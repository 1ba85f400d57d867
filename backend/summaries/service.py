"""The summary card outside the visit record: its image, and links that need no login."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import AppError, NotFound
from backend.events import service as events
from backend.events.catalog import VisitShared
from backend.kit.fonts import cjk_font_path
from backend.kit.storage import Storage
from backend.models import PhotoKind
from backend.orgs import service as org_service
from backend.photos import service as photo_service
from backend.summaries import png, share
from backend.summaries.schemas import SummaryRead
from backend.visits import service as visit_service
from backend.visits.service import VisitView


class SummaryNotReady(AppError):
    status, code = 409, "visit_not_submitted"

    def __init__(self) -> None:
        super().__init__("The visit has no summary yet: it is made when the visit is submitted.")


class ShareExpired(AppError):
    status, code = 410, "share_expired"

    def __init__(self) -> None:
        super().__init__("This link has expired; ask for a new one.")


@dataclass(frozen=True)
class ShareLink:
    url: str
    expires_at: datetime


_SUMMARY_READ = TypeAdapter(SummaryRead)


def _summary(view: VisitView) -> dict[str, Any]:
    if view.visit.summary is None:
        raise SummaryNotReady()
    return view.visit.summary


async def summary_of(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> SummaryRead:
    """The stored card of a submitted visit (409 before its submission)."""
    view = await visit_service.get_visit(session, principal, visit_id)
    return _SUMMARY_READ.validate_python(_summary(view))


async def summary_png(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    visit_id: uuid.UUID,
    locale: str,
) -> bytes:
    view = await visit_service.get_visit(session, principal, visit_id)
    summary = _summary(view)
    thumbnails = {
        kind.value: await photo_service.read_file(storage, photo, thumbnail=True)
        for kind, photo in view.photos.items()
    }
    font = cjk_font_path(settings)
    # A card too long for one picture ends with this: the visit's summary in the app.
    link = f"{settings.public_base}/visit/{view.visit.id}/summary"

    def render() -> bytes:
        return png.render_summary_png(
            summary, font_path=font, locale=locale, thumbnails=thumbnails, link=link
        )

    return await anyio.to_thread.run_sync(render)


async def create_share_link(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    visit_id: uuid.UUID,
    ttl_hours: int | None,
    now: datetime,
) -> ShareLink:
    """A link to the visit's summary that needs no login, valid from ``now`` for ``ttl_hours``
    (the default when None)."""
    view = await visit_service.get_visit(session, principal, visit_id)
    _summary(view)
    org = await org_service.get_org(session, principal.org_id)
    ttl = timedelta(hours=ttl_hours) if ttl_hours is not None else None
    expires_at = share.share_expiry(now, ttl)
    token = share.make_share_token(
        settings.secret, org.id, org.signing_secret, view.visit.id, expires_at
    )
    await events.record(
        session,
        VisitShared(expires_at=expires_at),
        org_id=org.id,
        subject_id=view.visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return ShareLink(share.share_url(settings.public_base, token), expires_at)


async def shared_visit(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> VisitView:
    """The visit a share link names, if the link is genuine and unexpired at ``now``."""
    parsed = share.parse_share_token(token)
    org = await org_service.find_org(session, str(parsed.org_id)) if parsed else None
    status = share.share_status(settings.secret, org.signing_secret if org else None, parsed, now)
    if status is share.ShareStatus.EXPIRED:
        raise ShareExpired()
    if status is not share.ShareStatus.VALID or parsed is None:
        raise NotFound("No such link.")
    view = await visit_service.get_visit_in_org(session, parsed.org_id, parsed.visit_id)
    _summary(view)
    return view


async def shared_thumbnail(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    token: str,
    kind: PhotoKind,
    now: datetime,
) -> bytes:
    view = await shared_visit(session, settings, token, now)
    photo = view.photos.get(kind)
    if photo is None:
        raise NotFound("No such photo.")
    return await photo_service.read_file(storage, photo, thumbnail=True)
