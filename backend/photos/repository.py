"""The photos domain's SQL: ``photos`` and ``photo_hash_bands``, every statement scoped by org.

The two statements of an upload are built once (``functools.cache``): the upsert of the row
with its hash bands, and the duplicate lookup. The rules they apply (the band width, the
Hamming distance, the window) are the service's and come in as arguments.
"""

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

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

from backend.models import Photo, PhotoHashBand, PhotoKind
from backend.photos.processing import ProcessedPhoto


async def current(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID, kind: PhotoKind
) -> Photo | None:
    return await session.scalar(
        select(Photo).where(Photo.org_id == org_id, Photo.visit_id == visit_id, Photo.kind == kind)
    )


async def of_visits(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[PhotoKind, Photo]]:
    """Each visit's photos by kind (one query)."""
    out: dict[uuid.UUID, dict[PhotoKind, Photo]] = {v: {} for v in visit_ids}
    if not visit_ids:
        return out
    rows = await session.scalars(
        select(Photo).where(Photo.org_id == org_id, Photo.visit_id.in_(list(visit_ids)))
    )
    for photo in rows:
        out[photo.visit_id][photo.kind] = photo
    return out


async def upsert(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    visit_id: uuid.UUID,
    kind: PhotoKind,
    processed: ProcessedPhoto,
    files: tuple[str, str],
    flags: list[dict[str, object]],
    band_keys: list[int],
    now: datetime,
) -> Photo:
    """Insert the visit's photo of ``kind`` (or replace it) with its hash bands ``band_keys``,
    in one statement that returns the stored row; ``files`` are the stored copy's and the
    thumbnail's storage keys, already written."""
    key, thumb_key = files
    captured = processed.captured_at
    aware = captured is not None and captured.tzinfo is not None
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
        "band_keys": band_keys,
    }
    photo: Photo | None = await session.scalar(
        _upsert_statement(), params, execution_options={"populate_existing": True}
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
def _upsert_statement() -> Executable:
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A photo of another visit that the duplicate lookup found: within the Hamming
    ``distance`` by its bands, or with the same upload bytes (``same_bytes``)."""

    photo_id: uuid.UUID
    visit_id: uuid.UUID
    distance: int
    taken_at: datetime
    same_bytes: bool


async def duplicate_candidates(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    probe_keys: list[int],
    phash: int,
    max_distance: int,
    original_sha256: bytes,
    since: datetime,
    exclude_visit_id: uuid.UUID,
) -> list[Candidate]:
    """Photos of other visits taken since ``since``: those of the hash bands ``probe_keys``
    within ``max_distance`` of ``phash``, and those with the same upload bytes; one round trip.
    A photo found both ways comes back twice."""
    rows = await session.execute(
        _duplicates_statement(max_distance),
        {
            "org_id": org_id,
            "probe_keys": probe_keys,
            "phash": phash,
            "original_sha256": original_sha256,
            "since": since,
            "exclude_visit_id": exclude_visit_id,
        },
    )
    return [
        Candidate(photo_id, visit_id, int(distance), taken_at, same_bytes)
        for photo_id, visit_id, distance, taken_at, same_bytes in rows
    ]


@functools.cache
def _duplicates_statement(max_distance: int) -> Executable:
    """Photos of other visits in the window within ``max_distance`` of ``phash`` (band
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
            distance <= max_distance,
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
