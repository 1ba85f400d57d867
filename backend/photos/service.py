"""Photo persistence: processing an upload, storing its files, finding near-duplicates.

Visit rules (who may upload, when, and what a duplicate does to trust) live in the visits
service, which calls this one.
"""

import asyncio
import hashlib
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy import cast, delete, func, select
from sqlalchemy.dialects.postgresql import BIT, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.models import Photo, PhotoHashBand, PhotoKind
from backend.photos import processing

DUPLICATE_WINDOW = timedelta(days=180)
DUPLICATE_MAX_DISTANCE = 6
BAND_BITS = 16


@dataclass(frozen=True)
class DuplicateMatch:
    photo_id: uuid.UUID
    visit_id: uuid.UUID
    distance: int
    taken_at: datetime


def upload_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def current_photo(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID, kind: PhotoKind
) -> Photo | None:
    return await session.scalar(
        select(Photo).where(Photo.org_id == org_id, Photo.visit_id == visit_id, Photo.kind == kind)
    )


async def photos_of(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[PhotoKind, Photo]]:
    out: dict[uuid.UUID, dict[PhotoKind, Photo]] = {v: {} for v in visit_ids}
    if not visit_ids:
        return out
    rows = await session.scalars(
        select(Photo).where(Photo.org_id == org_id, Photo.visit_id.in_(list(visit_ids)))
    )
    for photo in rows:
        out[photo.visit_id][photo.kind] = photo
    return out


async def process(
    data: bytes, watermark_lines: Sequence[str], font_path: Path
) -> processing.ProcessedPhoto:
    """Validate and re-encode off the event loop (tens of milliseconds of CPU)."""

    def work() -> processing.ProcessedPhoto:
        return processing.process_photo(data, watermark_lines=watermark_lines, font_path=font_path)

    return await anyio.to_thread.run_sync(work)


def _keys(org_id: uuid.UUID, visit_id: uuid.UUID, kind: PhotoKind, digest: str) -> tuple[str, str]:
    base = f"{org_id}/{visit_id}/{kind.value}-{digest[:32]}"
    return f"{base}.jpg", f"{base}.thumb.jpg"


async def save(
    session: AsyncSession,
    storage: Storage,
    *,
    org_id: uuid.UUID,
    visit_id: uuid.UUID,
    kind: PhotoKind,
    processed: processing.ProcessedPhoto,
    flags: list[dict[str, object]],
) -> Photo:
    """Write the files first (atomically), then the row: a row never points at a missing file."""
    key, thumb_key = _keys(org_id, visit_id, kind, processed.original_sha256)
    # Both files are durable (fsync) before the row exists; written side by side, not in turn.
    await asyncio.gather(
        storage.put(key, processed.data, processed.content_type),
        storage.put(thumb_key, processed.thumbnail, processed.content_type),
    )
    captured = processed.captured_at
    aware = captured is not None and captured.tzinfo is not None
    now = utc_now()
    values = {
        "org_id": org_id,
        "visit_id": visit_id,
        "kind": kind,
        "original_sha256": bytes.fromhex(processed.original_sha256),
        "sha256": bytes.fromhex(processed.sha256),
        "phash": processed.phash,
        "width": processed.width,
        "height": processed.height,
        "bytes": len(processed.data),
        "thumb_bytes": len(processed.thumbnail),
        "storage_key": key,
        "thumb_key": thumb_key,
        "original_format": processed.original_format,
        "original_width": processed.original_width,
        "original_height": processed.original_height,
        "original_bytes": processed.original_size,
        "captured_at": captured if aware else None,
        "captured_local_time": captured.isoformat() if captured is not None and not aware else None,
        "gps_lat": processed.gps_lat,
        "gps_lng": processed.gps_lng,
        "flags": flags,
        "taken_at": now,
    }
    stmt = insert(Photo).values(id=uuid.uuid4(), **values)
    photo_id = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[Photo.org_id, Photo.visit_id, Photo.kind],
            set_={**{k: stmt.excluded[k] for k in values}, "updated_at": now},
        ).returning(Photo.id)
    )
    assert photo_id is not None
    await _index_hash(session, org_id, visit_id, photo_id, processed.phash, now)
    photo = await session.get_one(Photo, photo_id, populate_existing=True)
    return photo


async def _index_hash(
    session: AsyncSession,
    org_id: uuid.UUID,
    visit_id: uuid.UUID,
    photo_id: uuid.UUID,
    phash: int,
    taken_at: datetime,
) -> None:
    await session.execute(
        delete(PhotoHashBand).where(
            PhotoHashBand.org_id == org_id, PhotoHashBand.photo_id == photo_id
        )
    )
    rows = [
        {
            "org_id": org_id,
            "band_key": key,
            "photo_id": photo_id,
            "visit_id": visit_id,
            "phash": phash,
            "taken_at": taken_at,
        }
        for key in processing.hash_bands(phash, bits_per_band=BAND_BITS)
    ]
    await session.execute(insert(PhotoHashBand).values(rows))


async def find_duplicates(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    phash: int,
    original_sha256: bytes,
    exclude_visit_id: uuid.UUID,
    now: datetime | None = None,
) -> list[DuplicateMatch]:
    """Photos of other visits in the last 180 days: the same bytes, or within distance 6.

    An indexed lookup: probe keys of the 16-bit hash bands (68 of them), then the exact
    Hamming check on the few candidates; never a scan of every photo.
    """
    since = (now or utc_now()) - DUPLICATE_WINDOW
    keys = processing.probe_keys(phash, DUPLICATE_MAX_DISTANCE, bits_per_band=BAND_BITS)
    # The Hamming check runs in PostgreSQL, so only real matches come back (~1,000 candidates
    # per lookup at a million photos would otherwise cross the wire and be checked in Python).
    distance = func.bit_count(cast(PhotoHashBand.phash.op("#")(phash), BIT(64))).label("distance")
    candidates = await session.execute(
        select(PhotoHashBand.photo_id, PhotoHashBand.visit_id, distance, PhotoHashBand.taken_at)
        .where(
            PhotoHashBand.org_id == org_id,
            PhotoHashBand.band_key.in_(keys),
            PhotoHashBand.taken_at >= since,
            PhotoHashBand.visit_id != exclude_visit_id,
            distance <= DUPLICATE_MAX_DISTANCE,
        )
        .distinct()
    )
    matches = {
        photo_id: DuplicateMatch(photo_id, visit_id, int(d), taken_at)
        for photo_id, visit_id, d, taken_at in candidates
    }
    same_bytes = await session.execute(
        select(Photo.id, Photo.visit_id, Photo.taken_at).where(
            Photo.org_id == org_id,
            Photo.original_sha256 == original_sha256,
            Photo.taken_at >= since,
            Photo.visit_id != exclude_visit_id,
        )
    )
    for photo_id, visit_id, taken_at in same_bytes:
        matches[photo_id] = DuplicateMatch(photo_id, visit_id, 0, taken_at)
    return sorted(matches.values(), key=lambda m: (m.distance, m.taken_at))


async def read_file(storage: Storage, photo: Photo, *, thumbnail: bool) -> bytes:
    return await storage.get(photo.thumb_key if thumbnail else photo.storage_key)
