"""The visit's three photos: adding or replacing one (with duplicate detection and its trust
flag), and serving the files to those allowed to see the visit."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import NotFound
from backend.events import service as events
from backend.events.catalog import VisitPhotoAdded, VisitPhotoReplaced
from backend.kit.fonts import cjk_font_path
from backend.kit.storage import Storage
from backend.kit.watermark import watermark_lines
from backend.models import Photo, PhotoKind
from backend.photos import service as photo_service
from backend.stores import service as store_service
from backend.users import service as user_service
from backend.visits.exceptions import VisitNotOpen
from backend.visits.service import EDITABLE, get_visit, lock_visit_for_rep, replace_flags


async def put_photo(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    visit_id: uuid.UUID,
    kind: PhotoKind,
    data: bytes,
    now: datetime,
) -> tuple[Photo, bool]:
    """Add or replace one of the visit's three photos at ``now``. Returns (photo, changed).

    The visit row is locked for the duration, so replays of the same upload queue up and find
    the photo already stored (same bytes: nothing is processed twice).
    """
    visit = await lock_visit_for_rep(session, principal, visit_id)

    async def at_the_door() -> list[str]:
        """Not a replay: the visit must be open; the watermark names its store and rep."""
        if visit.status not in EDITABLE:
            raise VisitNotOpen(visit.status)
        store = await store_service.get_store(session, visit.org_id, visit.store_id)
        rep = await user_service.get_user(session, visit.org_id, visit.rep_id)
        return watermark_lines(store.name, rep.display_name, visit.checked_in_at, settings.timezone)

    async def flags_for(duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
        """Runs while the stored copy is encoded: the photo's flags, and the visit's copy."""
        flags = _flags(kind, duplicates)
        replace_flags(visit, lambda flag: flag.get("kind") == kind.value, flags)
        await session.flush()
        return flags

    accepted = await photo_service.accept_upload(
        session,
        storage,
        org_id=visit.org_id,
        owner=photo_service.PhotoOwner.visit(visit.id, kind),
        data=data,
        watermark_lines=at_the_door,
        font_path=cjk_font_path(settings),
        now=now,
        flags_for=flags_for,
    )
    if not accepted.changed:
        return accepted.photo, False
    stored = VisitPhotoReplaced if accepted.replaced else VisitPhotoAdded
    await events.record(
        session,
        stored(
            kind=kind,
            sha256=accepted.photo.sha256.hex(),
            duplicate_of=[d.photo_id for d in accepted.duplicates[:5]],
        ),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
        flush=False,  # written with the commit
    )
    return accepted.photo, True


def _flags(kind: PhotoKind, duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
    """The photo's trust flag (and the visit's copy of it): a duplicate of another owner's
    photo (``other_visit_id``, or ``other_audit_id`` / ``other_rectification_id``)."""
    if not duplicates:
        return []
    flag = photo_service.duplicate_flag(
        duplicates[0], subject_zh=f"{kind.value} 照片", subject_en=f"{kind.value} photo"
    )
    return [{**flag, "kind": kind.value}]


async def photo_file(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    visit_id: uuid.UUID,
    kind: PhotoKind,
    *,
    thumbnail: bool,
) -> tuple[bytes, str]:
    """The stored photo (or its thumbnail) and its ETag, for users allowed to see the visit."""
    view = await get_visit(session, principal, visit_id)
    photo = view.photos.get(kind)
    if photo is None:
        raise NotFound("The visit has no photo of that kind.")
    data = await photo_service.read_file(storage, photo, thumbnail=thumbnail)
    return data, photo.sha256.hex()
