"""Photo persistence: processing an upload, storing its files, finding near-duplicates.

Visit rules (who may upload, when, and what a duplicate does to trust) live in the visits
service, which calls this one.
"""

import asyncio
import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio.to_thread
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Uuid,
    all_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, BIT, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.models import Photo, PhotoHashBand, PhotoKind
from backend.photos import processing

DUPLICATE_WINDOW = timedelta(days=180)
DUPLICATE_MAX_DISTANCE = 6
BAND_BITS = 16

T = TypeVar("T")


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


async def process_then(
    data: bytes,
    watermark_lines: Sequence[str],
    font_path: Path,
    then: Callable[[int], Awaitable[T]],
) -> tuple[processing.ProcessedPhoto, T]:
    """:func:`process`, and ``then(phash)`` on the event loop as soon as the perceptual hash is
    known: its queries run while the stored copy is still being encoded.

    ``then`` runs only once the upload has decoded (an invalid photo raises before it). If
    either fails, the other is waited for before the first error propagates, so nothing is
    left running on the session or in a worker thread.
    """
    loop = asyncio.get_running_loop()
    phash_known: asyncio.Future[int] = loop.create_future()

    def publish(phash: int) -> None:  # in a worker thread
        loop.call_soon_threadsafe(_resolve, phash_known, phash)

    def work() -> processing.ProcessedPhoto:
        return processing.process_photo(
            data, watermark_lines=watermark_lines, font_path=font_path, on_phash=publish
        )

    processing_task = asyncio.ensure_future(anyio.to_thread.run_sync(work))
    try:
        first: list[asyncio.Future[Any]] = [phash_known, processing_task]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        # Not published: processing failed (raised here) before reaching the hash.
        phash = phash_known.result() if phash_known.done() else (await processing_task).phash
        followed = await then(phash)
        return await processing_task, followed
    except BaseException:
        if not processing_task.done():
            await asyncio.wait({processing_task})
        if not processing_task.cancelled():
            processing_task.exception()  # retrieved: the first error is the one raised
        raise


def _resolve(future: "asyncio.Future[int]", value: int) -> None:
    if not future.done():
        future.set_result(value)


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
    """Write the files first (atomically), then the row: a row never points at a missing file.

    The row (inserted, or replacing the visit's photo of that kind) and its hash bands are
    written by one statement, which returns the stored row.
    """
    key, thumb_key = _keys(org_id, visit_id, kind, processed.original_sha256)
    # Both files are durable (fsync) before the row exists; written side by side, not in turn.
    # Both writes have ended before an error from either propagates: none lands afterwards.
    for outcome in await asyncio.gather(
        storage.put(key, processed.data, processed.content_type),
        storage.put(thumb_key, processed.thumbnail, processed.content_type),
        return_exceptions=True,
    ):
        if isinstance(outcome, BaseException):
            raise outcome
    captured = processed.captured_at
    aware = captured is not None and captured.tzinfo is not None
    now = utc_now()
    params = {
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
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "band_keys": processing.hash_bands(processed.phash, bits_per_band=BAND_BITS),
    }
    photo: Photo | None = await session.scalar(
        _save_statement(), params, execution_options={"populate_existing": True}
    )
    assert photo is not None
    return photo


#: Columns of the photo row that an upload sets (all of them but the id and created_at).
_UPLOAD_COLUMNS: Final = (
    "org_id",
    "visit_id",
    "kind",
    "original_sha256",
    "sha256",
    "phash",
    "width",
    "height",
    "bytes",
    "thumb_bytes",
    "storage_key",
    "thumb_key",
    "original_format",
    "original_width",
    "original_height",
    "original_bytes",
    "captured_at",
    "captured_local_time",
    "gps_lat",
    "gps_lng",
    "flags",
    "taken_at",
    "updated_at",
)


@functools.cache
def _save_statement() -> Executable:
    """Upsert the photo row and make its hash bands those of its ``phash``, in one statement
    that returns the row; built once (parameters by name: the columns, ``id``, ``created_at``
    and ``band_keys``).

    The bands it no longer has are removed and the others added (or re-stamped): the two act
    on disjoint rows, and a new row's bands pass their foreign key check, which PostgreSQL
    makes at the end of the statement. Column defaults do not apply inside a CTE: every value
    is a parameter.
    """
    photos, bands = Photo.__table__, PhotoHashBand.__table__
    stmt = insert(Photo).values(
        {name: bindparam(name) for name in ("id", "created_at", *_UPLOAD_COLUMNS)}
    )
    photo = (
        stmt.on_conflict_do_update(
            index_elements=[photos.c.org_id, photos.c.visit_id, photos.c.kind],
            set_={name: stmt.excluded[name] for name in _UPLOAD_COLUMNS},
        )
        .returning(*photos.c)
        .cte("photo")
    )
    band_keys = bindparam("band_keys", type_=ARRAY(Integer))
    removed = (
        delete(PhotoHashBand)
        .where(
            bands.c.org_id == photo.c.org_id,
            bands.c.photo_id == photo.c.id,
            bands.c.band_key != all_(band_keys),
        )
        .cte("bands_removed")
    )
    key = func.unnest(band_keys).table_valued("band_key").render_derived(name="band_keys")
    rows = select(
        photo.c.org_id,
        key.c.band_key,
        photo.c.id,
        photo.c.visit_id,
        photo.c.phash,
        photo.c.taken_at,
    ).join_from(photo, key, true())
    add = insert(PhotoHashBand).from_select(
        ["org_id", "band_key", "photo_id", "visit_id", "phash", "taken_at"], rows
    )
    added = add.on_conflict_do_update(
        index_elements=[bands.c.org_id, bands.c.band_key, bands.c.photo_id],
        set_={name: add.excluded[name] for name in ("visit_id", "phash", "taken_at")},
    ).cte("bands_added")
    return select(Photo).from_statement(select(photo).add_cte(removed, added))


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
    # One round trip for both; a photo found both ways counts as the same bytes (distance 0).
    rows = await session.execute(
        _duplicates_statement(),
        {
            "org_id": org_id,
            "probe_keys": processing.probe_keys(
                phash, DUPLICATE_MAX_DISTANCE, bits_per_band=BAND_BITS
            ),
            "phash": phash,
            "original_sha256": original_sha256,
            "since": (now or utc_now()) - DUPLICATE_WINDOW,
            "exclude_visit_id": exclude_visit_id,
        },
    )
    matches: dict[uuid.UUID, DuplicateMatch] = {}
    for photo_id, visit_id, d, taken_at, same_bytes in rows:
        if same_bytes or photo_id not in matches:
            distance = 0 if same_bytes else int(d)
            matches[photo_id] = DuplicateMatch(photo_id, visit_id, distance, taken_at)
    return sorted(matches.values(), key=lambda m: (m.distance, m.taken_at))


@functools.cache
def _duplicates_statement() -> Executable:
    """Photos of other visits in the window within the Hamming distance of ``phash`` (band
    candidates, confirmed in PostgreSQL), and those with the same upload bytes; built once.

    The Hamming check runs in PostgreSQL, so only real matches come back (~1,000 candidates per
    lookup at a million photos would otherwise cross the wire and be checked in Python).
    """
    org_id = bindparam("org_id", type_=Uuid())
    since = bindparam("since", type_=DateTime(timezone=True))
    exclude_visit_id = bindparam("exclude_visit_id", type_=Uuid())
    phash = bindparam("phash", type_=BigInteger)
    distance = func.bit_count(cast(PhotoHashBand.phash.op("#")(phash), BIT(64)))
    near = (
        select(
            PhotoHashBand.photo_id,
            PhotoHashBand.visit_id,
            distance.label("distance"),
            PhotoHashBand.taken_at,
            literal(False).label("same_bytes"),
        )
        .where(
            PhotoHashBand.org_id == org_id,
            PhotoHashBand.band_key == any_(bindparam("probe_keys", type_=ARRAY(Integer))),
            PhotoHashBand.taken_at >= since,
            PhotoHashBand.visit_id != exclude_visit_id,
            distance <= DUPLICATE_MAX_DISTANCE,
        )
        .distinct()
    )
    same_bytes = select(Photo.id, Photo.visit_id, literal(0), Photo.taken_at, literal(True)).where(
        Photo.org_id == org_id,
        Photo.original_sha256 == bindparam("original_sha256"),
        Photo.taken_at >= since,
        Photo.visit_id != exclude_visit_id,
    )
    return union_all(near, same_bytes)


async def read_file(storage: Storage, photo: Photo, *, thumbnail: bool) -> bytes:
    return await storage.get(photo.thumb_key if thumbnail else photo.storage_key)
