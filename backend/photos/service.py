"""Photos of every owner (a visit's of a kind, an audit item's, a rectification's after photo):
accepting an upload (replay, processing, duplicate lookup, files, row), reading them back.

The owner's rules (who may upload, when, and what a duplicate does to its trust) live in the
owner's domain, which calls :func:`accept_upload` with them.
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
from backend.photos import processing, repository, rules
from backend.photos.owner import OwnerKind, PhotoOwner

__all__ = [
    "BAND_BITS",
    "DUPLICATE_MAX_DISTANCE",
    "DUPLICATE_WINDOW",
    "Accepted",
    "DuplicateMatch",
    "OwnerKind",
    "PhotoOwner",
    "accept_upload",
    "after_photos",
    "current",
    "duplicate_flag",
    "find_duplicates",
    "photos_of",
    "photos_of_audits",
    "process",
    "process_then",
    "read_file",
    "save",
    "upload_digest",
]

DUPLICATE_WINDOW = timedelta(days=180)
DUPLICATE_MAX_DISTANCE = 6
BAND_BITS = 16

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    """A photo of another owner that an upload duplicates (``distance`` 0: the same bytes).

    Its owner is ``owner_id``, and exactly one of ``visit_id``, ``audit_id`` and
    ``rectification_id`` (the same id) says which kind of owner that is.
    """

    photo_id: uuid.UUID
    distance: int
    taken_at: datetime
    owner_id: uuid.UUID
    visit_id: uuid.UUID | None = None
    audit_id: uuid.UUID | None = None
    rectification_id: uuid.UUID | None = None

    @property
    def owner_kind(self) -> OwnerKind:
        if self.visit_id is not None:
            return OwnerKind.visit
        if self.audit_id is not None:
            return OwnerKind.audit_item
        return OwnerKind.after


def upload_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def current(session: AsyncSession, org_id: uuid.UUID, owner: PhotoOwner) -> Photo | None:
    """The photo in ``owner``'s slot, if any."""
    return await repository.current(session, org_id, owner)


async def photos_of(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[PhotoKind, Photo]]:
    """Each visit's photos by kind (every visit of ``visit_ids`` has an entry)."""
    return await repository.of_visits(session, org_id, visit_ids)


async def photos_of_audits(
    session: AsyncSession, org_id: uuid.UUID, audit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Photo]]:
    """Each audit's item photos by item key (every audit of ``audit_ids`` has an entry)."""
    return await repository.of_audits(session, org_id, audit_ids)


async def after_photos(
    session: AsyncSession, org_id: uuid.UUID, rectification_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Photo]:
    """The after photo of each rectification of ``rectification_ids`` that has one."""
    return await repository.of_rectifications(session, org_id, rectification_ids)


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


async def save(
    session: AsyncSession,
    storage: Storage,
    *,
    org_id: uuid.UUID,
    owner: PhotoOwner,
    processed: processing.ProcessedPhoto,
    flags: list[dict[str, object]],
    now: datetime,
) -> Photo:
    """Write the files first (atomically), then the row (taken at ``now``): a row never points
    at a missing file.

    The row (inserted, or replacing the photo in ``owner``'s slot) and its hash bands are
    written by one statement, which returns the stored row.
    """
    key, thumb_key = owner.storage_keys(org_id, processed.original_sha256)
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
        owner=owner,
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
    exclude_owner_id: uuid.UUID,
    now: datetime,
) -> list[DuplicateMatch]:
    """Photos of the org (of visits, audit items and rectifications) in the 180 days before
    ``now``, except ``exclude_owner_id``'s own: the same bytes, or within distance 6; the
    closest first.

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
        exclude_owner_id=exclude_owner_id,
    )
    # A photo found both ways counts as the same bytes (distance 0).
    matches: dict[uuid.UUID, DuplicateMatch] = {}
    for c in candidates:
        if c.same_bytes or c.photo_id not in matches:
            owner_id = c.visit_id or c.audit_id or c.rectification_id
            assert owner_id is not None  # the one-owner CHECK
            matches[c.photo_id] = DuplicateMatch(
                photo_id=c.photo_id,
                distance=0 if c.same_bytes else c.distance,
                taken_at=c.taken_at,
                owner_id=owner_id,
                visit_id=c.visit_id,
                audit_id=c.audit_id,
                rectification_id=c.rectification_id,
            )
    return sorted(matches.values(), key=lambda m: (m.distance, m.taken_at))


def duplicate_flag(match: DuplicateMatch, *, subject_zh: str, subject_en: str) -> dict[str, Any]:
    """The ``duplicate_photo`` trust flag for a photo (``subject``, e.g. "shelf 照片" /
    "shelf photo") that duplicates ``match``, as stored: code, weight, bilingual detail saying
    what was matched, and the matched owner's id as ``other_visit_id``, ``other_audit_id`` or
    ``other_rectification_id``."""
    flag = rules.duplicate_photo_flag(
        subject_zh,
        subject_en,
        matched=match.owner_kind,
        matched_at=match.taken_at,
        distance=match.distance,
    )
    other = {
        OwnerKind.visit: "other_visit_id",
        OwnerKind.audit_item: "other_audit_id",
        OwnerKind.after: "other_rectification_id",
    }[match.owner_kind]
    return {**flag.as_dict(), other: str(match.owner_id)}


@dataclass(frozen=True, slots=True)
class Accepted:
    """What :func:`accept_upload` did: the photo now in the slot; the duplicates it was
    checked against; ``changed`` (False: a replay of the stored upload, nothing written);
    ``replaced`` (an earlier, different photo was in the slot)."""

    photo: Photo
    duplicates: list[DuplicateMatch]
    changed: bool
    replaced: bool


async def accept_upload(
    session: AsyncSession,
    storage: Storage,
    *,
    org_id: uuid.UUID,
    owner: PhotoOwner,
    data: bytes,
    watermark_lines: Sequence[str] | Callable[[], Awaitable[Sequence[str]]],
    font_path: Path,
    now: datetime,
    flags_for: Callable[[list[DuplicateMatch]], Awaitable[list[dict[str, Any]]]],
) -> Accepted:
    """Put the upload ``data`` in ``owner``'s slot at ``now``, with every photo rule (§6).

    The caller holds a lock on the owner's row for the transaction, so replays of one upload
    queue up and find the photo already stored: an upload whose bytes are the stored
    original's is returned as it is (``changed=False``) before anything else is checked, so a
    replay still succeeds once the owner is closed, and nothing is processed twice.

    Otherwise the watermark's lines are taken: ``watermark_lines`` itself, or, when it is a
    coroutine function, what it returns; it runs only for an upload that is not a replay, so
    it is the place for the owner's own checks (it may raise: the visit is no longer open)
    and for loading what the watermark names. The upload is then validated and
    re-encoded (orientation applied, GPS stripped, watermarked) off the event loop; as soon
    as its perceptual hash is known, the duplicates of other owners' photos are looked up and
    ``flags_for(duplicates)`` gives the photo's trust flags (and is the caller's chance to
    update its own row's flags), while the stored copy is still being encoded. The files
    and then the row are written (:func:`save`).
    """
    digest = upload_digest(data)
    existing = await repository.current(session, org_id, owner)
    if existing is not None and existing.original_sha256 == digest:
        return Accepted(existing, [], changed=False, replaced=False)
    lines = await watermark_lines() if callable(watermark_lines) else watermark_lines

    async def look_up(phash: int) -> tuple[list[DuplicateMatch], list[dict[str, Any]]]:
        duplicates = await find_duplicates(
            session,
            org_id,
            phash=phash,
            original_sha256=digest,
            exclude_owner_id=owner.owner_id,
            now=now,
        )
        return duplicates, await flags_for(duplicates)

    processed, (duplicates, flags) = await process_then(data, lines, font_path, look_up)
    photo = await save(
        session,
        storage,
        org_id=org_id,
        owner=owner,
        processed=processed,
        flags=flags,
        now=now,
    )
    return Accepted(photo, duplicates, changed=True, replaced=existing is not None)


async def read_file(storage: Storage, photo: Photo, *, thumbnail: bool) -> bytes:
    return await storage.get(photo.thumb_key if thumbnail else photo.storage_key)
