"""Photo persistence: processing an upload, storing its files, finding near-duplicates.

Visit rules (who may upload, when, and what a duplicate does to trust) live in the visits
service, which calls this one.
"""

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.storage import Storage
from backend.models import Photo, PhotoKind
from backend.photos import processing, repository

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
    return await repository.current(session, org_id, visit_id, kind)


async def photos_of(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[PhotoKind, Photo]]:
    return await repository.of_visits(session, org_id, visit_ids)


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
    now: datetime,
) -> Photo:
    """Write the files first (atomically), then the row (taken at ``now``): a row never points
    at a missing file.

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
    return await repository.upsert(
        session,
        org_id=org_id,
        visit_id=visit_id,
        kind=kind,
        processed=processed,
        files=(key, thumb_key),
        flags=flags,
        band_keys=processing.hash_bands(processed.phash, bits_per_band=BAND_BITS),
        now=now,
    )


async def find_duplicates(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    phash: int,
    original_sha256: bytes,
    exclude_visit_id: uuid.UUID,
    now: datetime,
) -> list[DuplicateMatch]:
    """Photos of other visits in the 180 days before ``now``: the same bytes, or within
    distance 6.

    An indexed lookup: probe keys of the 16-bit hash bands (68 of them), then the exact
    Hamming check on the few candidates; never a scan of every photo.
    """
    candidates = await repository.duplicate_candidates(
        session,
        org_id,
        probe_keys=processing.probe_keys(phash, DUPLICATE_MAX_DISTANCE, bits_per_band=BAND_BITS),
        phash=phash,
        max_distance=DUPLICATE_MAX_DISTANCE,
        original_sha256=original_sha256,
        since=now - DUPLICATE_WINDOW,
        exclude_visit_id=exclude_visit_id,
    )
    # A photo found both ways counts as the same bytes (distance 0).
    matches: dict[uuid.UUID, DuplicateMatch] = {}
    for c in candidates:
        if c.same_bytes or c.photo_id not in matches:
            distance = 0 if c.same_bytes else c.distance
            matches[c.photo_id] = DuplicateMatch(c.photo_id, c.visit_id, distance, c.taken_at)
    return sorted(matches.values(), key=lambda m: (m.distance, m.taken_at))


async def read_file(storage: Storage, photo: Photo, *, thumbnail: bool) -> bytes:
    return await storage.get(photo.thumb_key if thumbnail else photo.storage_key)
