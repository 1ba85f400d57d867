"""The visit's three photos: adding or replacing one (with duplicate detection and its trust
flag), and serving the files to those allowed to see the visit."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import NotFound
from backend.events import service as events
from backend.events.catalog import VisitPhotoAdded, VisitPhotoReplaced
from backend.kit.fonts import cjk_font_path
from backend.kit.storage import Storage
from backend.models import Photo, PhotoKind, Store, User, Visit
from backend.photos import service as photo_service
from backend.stores import service as store_service
from backend.users import service as user_service
from backend.visits import rules
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
    digest = photo_service.upload_digest(data)
    existing = await photo_service.current_photo(session, visit.org_id, visit.id, kind)
    if existing is not None and existing.original_sha256 == digest:
        return existing, False
    if visit.status not in EDITABLE:
        raise VisitNotOpen(visit.status)
    store = await store_service.get_store(session, visit.org_id, visit.store_id)
    rep = await user_service.get_user(session, visit.org_id, visit.rep_id)

    async def check_duplicates(phash: int) -> list[photo_service.DuplicateMatch]:
        """Runs while the stored copy is encoded: the lookup and the visit's flags."""
        duplicates = await photo_service.find_duplicates(
            session,
            visit.org_id,
            phash=phash,
            original_sha256=digest,
            exclude_visit_id=visit.id,
            now=now,
        )
        replace_flags(visit, lambda flag: flag.get("kind") == kind.value, _flags(kind, duplicates))
        await session.flush()
        return duplicates

    processed, duplicates = await photo_service.process_then(
        data,
        _watermark_lines(settings, visit, store, rep),
        cjk_font_path(settings),
        check_duplicates,
    )
    photo = await photo_service.save(
        session,
        storage,
        org_id=visit.org_id,
        visit_id=visit.id,
        kind=kind,
        processed=processed,
        flags=_flags(kind, duplicates),
        now=now,
    )
    stored = VisitPhotoAdded if existing is None else VisitPhotoReplaced
    await events.record(
        session,
        stored(
            kind=kind,
            sha256=processed.sha256,
            duplicate_of=[d.photo_id for d in duplicates[:5]],
        ),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
        flush=False,  # written with the commit
    )
    return photo, True


def _flags(kind: PhotoKind, duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
    """The photo's trust flag (and the visit's copy of it): a duplicate of another visit's."""
    if not duplicates:
        return []
    first = duplicates[0]
    flag = rules.duplicate_photo_flag(kind.value, first.taken_at, first.distance)
    return [{**flag.as_dict(), "kind": kind.value, "other_visit_id": str(first.visit_id)}]


def _watermark_lines(settings: Settings, visit: Visit, store: Store, rep: User) -> list[str]:
    zone = ZoneInfo(settings.timezone)
    local = visit.checked_in_at.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    hours = offset.total_seconds() / 3600
    stamp = f"{local:%Y-%m-%d %H:%M} (UTC{hours:+g})"
    return [store.name, f"{rep.display_name} · {stamp}"]


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
