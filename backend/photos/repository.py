"""The photos domain's SQL: ``photos`` and ``photo_hash_bands``, every statement scoped by org.

The two statements of an upload are built once (``functools.cache``): the upsert of the row
with its hash bands (one per kind of owner: each has its own unique index), and the duplicate
lookup over every photo of the org, whoever owns it. The rules they apply (the band width, the
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
from sqlalchemy.sql import ColumnElement, Executable

from backend.models import Photo, PhotoHashBand, PhotoKind
from backend.photos.owner import OwnerKind, PhotoOwner
from backend.photos.processing import ProcessedPhoto


async def current(session: AsyncSession, org_id: uuid.UUID, owner: PhotoOwner) -> Photo | None:
    """The photo in ``owner``'s slot (found through that owner's unique index)."""
    return await session.scalar(select(Photo).where(Photo.org_id == org_id, *_slot_of(owner)))


def _slot_of(owner: PhotoOwner) -> list[ColumnElement[bool]]:
    """The conditions that pick ``owner``'s slot: its set owner columns."""
    columns = Photo.__table__.c
    return [columns[name] == value for name, value in owner.columns().items() if value is not None]


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
        # A visit's photo has its kind (the one-owner CHECK).
        assert photo.visit_id is not None and photo.kind is not None
        out[photo.visit_id][photo.kind] = photo
    return out


async def of_audits(
    session: AsyncSession, org_id: uuid.UUID, audit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Photo]]:
    """Each audit's item photos by item key (one query)."""
    out: dict[uuid.UUID, dict[str, Photo]] = {a: {} for a in audit_ids}
    if not audit_ids:
        return out
    rows = await session.scalars(
        select(Photo).where(Photo.org_id == org_id, Photo.audit_id.in_(list(audit_ids)))
    )
    for photo in rows:
        assert photo.audit_id is not None and photo.item_key is not None  # the CHECK
        out[photo.audit_id][photo.item_key] = photo
    return out


async def of_rectifications(
    session: AsyncSession, org_id: uuid.UUID, rectification_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Photo]:
    """The after photo of each rectification that has one (one query)."""
    if not rectification_ids:
        return {}
    rows = await session.scalars(
        select(Photo).where(
            Photo.org_id == org_id, Photo.rectification_id.in_(list(rectification_ids))
        )
    )
    return {photo.rectification_id: photo for photo in rows if photo.rectification_id}


async def upsert(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    owner: PhotoOwner,
    processed: ProcessedPhoto,
    files: tuple[str, str],
    flags: list[dict[str, object]],
    band_keys: list[int],
    now: datetime,
) -> Photo:
    """Insert the photo in ``owner``'s slot (or replace it) with its hash bands ``band_keys``,
    in one statement that returns the stored row; ``files`` are the stored copy's and the
    thumbnail's storage keys, already written."""
    key, thumb_key = files
    captured = processed.captured_at
    aware = captured is not None and captured.tzinfo is not None
    params = {
        "org_id": org_id,
        **owner.columns(),
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
        "owner_id": owner.owner_id,
    }
    photo: Photo | None = await session.scalar(
        _upsert_statement(owner.owner_kind), params, execution_options={"populate_existing": True}
    )
    assert photo is not None
    return photo


#: Columns of the photo row that an upload sets (all of them but the id and created_at).
_UPLOAD_COLUMNS: Final = (
    "org_id",
    "visit_id",
    "kind",
    "audit_id",
    "item_key",
    "rectification_id",
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


#: Each kind of owner's unique index on ``photos``, the upsert's conflict target: its columns
#: and, for the partial ones, their predicate.
_SLOT_INDEXES: Final = {
    OwnerKind.visit: (("org_id", "visit_id", "kind"), None),
    OwnerKind.audit_item: (("org_id", "audit_id", "item_key"), "audit_id"),
    OwnerKind.after: (("org_id", "rectification_id"), "rectification_id"),
}


@functools.cache
def _upsert_statement(owner_kind: OwnerKind) -> Executable:
    """Upsert the photo row of an ``owner_kind`` slot and make its hash bands those of its
    ``phash``, in one statement that returns the row; built once per kind of owner
    (parameters by name: the columns, ``id``, ``created_at``, ``band_keys`` and ``owner_id``).

    The bands it no longer has are removed and the others added (or re-stamped): the two act
    on disjoint rows, and a new row's bands pass their foreign key check, which PostgreSQL
    makes at the end of the statement. Column defaults do not apply inside a CTE: every value
    is a parameter.
    """
    photos, bands = Photo.__table__, PhotoHashBand.__table__
    stmt = insert(Photo).values(
        {name: bindparam(name) for name in ("id", "created_at", *_UPLOAD_COLUMNS)}
    )
    index_columns, partial_on = _SLOT_INDEXES[owner_kind]
    photo = (
        stmt.on_conflict_do_update(
            index_elements=[photos.c[name] for name in index_columns],
            index_where=None if partial_on is None else photos.c[partial_on].is_not(None),
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
        bindparam("owner_id", type_=Uuid()),
        photo.c.phash,
        photo.c.taken_at,
    ).join_from(photo, key, true())
    add = insert(PhotoHashBand).from_select(
        ["org_id", "band_key", "photo_id", "owner_id", "phash", "taken_at"], rows
    )
    added = add.on_conflict_do_update(
        index_elements=[bands.c.org_id, bands.c.band_key, bands.c.photo_id],
        set_={name: add.excluded[name] for name in ("owner_id", "phash", "taken_at")},
    ).cte("bands_added")
    return select(Photo).from_statement(select(photo).add_cte(removed, added))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A photo of another owner that the duplicate lookup found: within the Hamming
    ``distance`` by its bands, or with the same upload bytes (``same_bytes``); one of
    ``visit_id``, ``audit_id`` and ``rectification_id`` is set (its owner)."""

    photo_id: uuid.UUID
    visit_id: uuid.UUID | None
    audit_id: uuid.UUID | None
    rectification_id: uuid.UUID | None
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
    exclude_owner_id: uuid.UUID,
) -> list[Candidate]:
    """Photos of the org (visits', audit items', after photos) taken since ``since``, except
    ``exclude_owner_id``'s: those of the hash bands ``probe_keys`` within ``max_distance`` of
    ``phash``, and those with the same upload bytes; one round trip. A photo found both ways
    comes back twice."""
    rows = await session.execute(
        _duplicates_statement(max_distance),
        {
            "org_id": org_id,
            "probe_keys": probe_keys,
            "phash": phash,
            "original_sha256": original_sha256,
            "since": since,
            "exclude_owner_id": exclude_owner_id,
        },
    )
    return [
        Candidate(photo_id, visit_id, audit_id, rect_id, int(distance), taken_at, same_bytes)
        for photo_id, visit_id, audit_id, rect_id, distance, taken_at, same_bytes in rows
    ]


@functools.cache
def _duplicates_statement(max_distance: int) -> Executable:
    """Photos of other owners in the window within ``max_distance`` of ``phash`` (band
    candidates, confirmed in PostgreSQL), and those with the same upload bytes; built once.

    The Hamming check runs in PostgreSQL, so only real matches come back (~1,000 candidates per
    lookup at a million photos would otherwise cross the wire and be checked in Python). Only
    those matches are then looked up by primary key for their owner (a lateral join: one index
    probe per match, whatever the planner estimates), so the band probe stays as lean as it
    was when every photo was a visit's.
    """
    org_id = bindparam("org_id", type_=Uuid())
    since = bindparam("since", type_=DateTime(timezone=True))
    exclude_owner_id = bindparam("exclude_owner_id", type_=Uuid())
    phash = bindparam("phash", type_=BigInteger)
    distance = func.bit_count(cast(PhotoHashBand.phash.op("#")(phash), BIT(64)))
    near = (
        select(
            PhotoHashBand.photo_id,
            distance.label("distance"),
            PhotoHashBand.taken_at,
        )
        .where(
            PhotoHashBand.org_id == org_id,
            PhotoHashBand.band_key == any_(bindparam("probe_keys", type_=ARRAY(Integer))),
            PhotoHashBand.taken_at >= since,
            PhotoHashBand.owner_id != exclude_owner_id,
            distance <= max_distance,
        )
        .distinct()
        .subquery("near")
    )
    owner = (
        select(Photo.visit_id, Photo.audit_id, Photo.rectification_id)
        .where(Photo.org_id == org_id, Photo.id == near.c.photo_id)
        .lateral("owner")
    )
    near_owned = select(
        near.c.photo_id,
        owner.c.visit_id,
        owner.c.audit_id,
        owner.c.rectification_id,
        near.c.distance,
        near.c.taken_at,
        literal(False).label("same_bytes"),
    ).join_from(near, owner, true())
    # Exactly one owner column is set (the CHECK): their coalesce is the owner's id.
    owner_id = func.coalesce(Photo.visit_id, Photo.audit_id, Photo.rectification_id)
    same_bytes = select(
        Photo.id,
        Photo.visit_id,
        Photo.audit_id,
        Photo.rectification_id,
        literal(0),
        Photo.taken_at,
        literal(True),
    ).where(
        Photo.org_id == org_id,
        Photo.original_sha256 == bindparam("original_sha256"),
        Photo.taken_at >= since,
        owner_id != exclude_owner_id,
    )
    return union_all(near_owned, same_bytes)
