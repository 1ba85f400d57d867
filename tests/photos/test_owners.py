"""Photos of the three kinds of owner (a visit's, an audit item's, a rectification's after
photo): saved and read back, one owner per row, one duplicate lookup across all of them, and
replays that process nothing."""

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.fonts import cjk_font_path
from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.models import (
    Audit,
    AuditChecklist,
    AuditStatus,
    AuditTemplate,
    Photo,
    PhotoHashBand,
    PhotoKind,
    Rectification,
    RectificationStatus,
)
from backend.photos import processing
from backend.photos import service as photo_service
from backend.photos.service import DuplicateMatch, OwnerKind, PhotoOwner
from tests.factories.images import encode, synthetic_photo
from tests.factories.visits import Field
from tests.factories.world import World

WATERMARK = ["门店 1", "督导 · 2026-12-02 10:00 (UTC+8)"]


@dataclass(frozen=True)
class Owners:
    """An org's store with one open audit and one rectification raised from it."""

    field: Field
    store: dict[str, Any]
    audit_id: uuid.UUID
    rectification_id: uuid.UUID


@pytest.fixture(scope="module")
def shelf_jpeg() -> bytes:
    return encode(synthetic_photo(11, (1200, 900)), "JPEG", quality=85)


@pytest.fixture
def storage(app: FastAPI) -> Storage:
    """The app's own storage: photos saved here are the ones its endpoints serve."""
    built: Storage = app.state.storage
    return built


@pytest.fixture
async def owners(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> Owners:
    field = Field(client, await world.org())
    store = await field.store()
    org = field.org
    now = utc_now()
    audit_id, rectification_id = uuid.uuid4(), uuid.uuid4()
    async with session_scope(sessionmaker) as session:
        # Rows as the audits domain writes them; only the columns a photo's owner needs.
        session.add(AuditTemplate(org_id=org.id, key="photos_test", name="照片测试"))
        await session.flush()
        session.add(
            AuditChecklist(
                org_id=org.id, template_key="photos_test", version=1, items=[], created_by=None
            )
        )
        await session.flush()
        session.add(
            Audit(
                id=audit_id,
                org_id=org.id,
                store_id=uuid.UUID(store["id"]),
                auditor_id=org.supervisor.id,
                status=AuditStatus.open,
                template_key="photos_test",
                template_version=1,
                started_at=now,
                check_in_lat=store["lat"],
                check_in_lng=store["lng"],
                check_in_accuracy_m=10.0,
                check_in_distance_m=0.0,
                captured_at=now,
                device_time=now,
                server_received_at=now,
                clock_offset_s=0.0,
                queued_offline=False,
                check_in_fingerprint=hashlib.sha256(b"start").digest(),
            )
        )
        await session.flush()
        session.add(
            Rectification(
                id=rectification_id,
                org_id=org.id,
                audit_id=audit_id,
                store_id=uuid.UUID(store["id"]),
                item_key="shelf_clean",
                title={"zh": "货架整洁", "en": "Shelf clean"},
                critical=False,
                assignee_id=org.rep.id,
                raised_by_id=org.supervisor.id,
                due_at=now + timedelta(days=7),
                status=RectificationStatus.open,
                note="",
            )
        )
    return Owners(field, store, audit_id, rectification_id)


class Calls:
    """What :func:`photo_service.accept_upload` asked of its caller."""

    def __init__(self) -> None:
        self.watermarks = 0
        self.duplicates: list[list[DuplicateMatch]] = []

    async def watermark_lines(self) -> list[str]:
        self.watermarks += 1
        return WATERMARK

    async def flags_for(self, duplicates: list[DuplicateMatch]) -> list[dict[str, Any]]:
        self.duplicates.append(duplicates)
        return [
            photo_service.duplicate_flag(d, subject_zh="检查项照片", subject_en="item photo")
            for d in duplicates[:1]
        ]


async def accept(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    storage: Storage,
    org_id: uuid.UUID,
    owner: PhotoOwner,
    data: bytes,
    calls: Calls | None = None,
    now: datetime | None = None,
) -> photo_service.Accepted:
    """One upload in its own unit of work, as a request makes it."""
    calls = calls or Calls()
    async with session_scope(sessionmaker) as session:
        return await photo_service.accept_upload(
            session,
            storage,
            org_id=org_id,
            owner=owner,
            data=data,
            watermark_lines=calls.watermark_lines,
            font_path=cjk_font_path(settings),
            now=now or utc_now(),
            flags_for=calls.flags_for,
        )


async def band_owners(
    sessionmaker: async_sessionmaker[AsyncSession], photo_id: uuid.UUID
) -> set[uuid.UUID]:
    async with session_scope(sessionmaker) as session:
        rows = await session.scalars(
            select(PhotoHashBand.owner_id).where(PhotoHashBand.photo_id == photo_id)
        )
        return set(rows)


def decoded_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.size


# --- the owner value -----------------------------------------------------------------------------


def test_each_owner_has_its_columns_slot_and_storage_keys() -> None:
    org, visit, audit, rect = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    digest = "ab" * 32
    cases = [
        (
            PhotoOwner.visit(visit, PhotoKind.shelf),
            OwnerKind.visit,
            visit,
            {"visit_id": visit, "kind": PhotoKind.shelf},
            f"{org}/{visit}/shelf-{digest[:32]}",  # a visit photo's key, exactly as before
        ),
        (
            PhotoOwner.audit_item(audit, "door_clean"),
            OwnerKind.audit_item,
            audit,
            {"audit_id": audit, "item_key": "door_clean"},
            f"{org}/{audit}/item-door_clean-{digest[:32]}",
        ),
        (
            PhotoOwner.after(rect),
            OwnerKind.after,
            rect,
            {"rectification_id": rect},
            f"{org}/{rect}/after-{digest[:32]}",
        ),
    ]
    for owner, kind, owner_id, set_columns, base in cases:
        assert owner.owner_kind is kind
        assert owner.owner_id == owner_id
        columns = owner.columns()
        assert set(columns) == {"visit_id", "kind", "audit_id", "item_key", "rectification_id"}
        assert {k: v for k, v in columns.items() if v is not None} == set_columns
        assert owner.storage_keys(org, digest) == (f"{base}.jpg", f"{base}.thumb.jpg")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"visit_id": uuid.uuid4()},  # a visit photo without its kind
        {"visit_id": uuid.uuid4(), "kind": PhotoKind.shelf, "rectification_id": uuid.uuid4()},
        {"audit_id": uuid.uuid4(), "item_key": "a", "kind": PhotoKind.shelf},
        {"audit_id": uuid.uuid4(), "item_key": "../etc"},  # would escape its storage folder
        {"audit_id": uuid.uuid4(), "item_key": ""},
    ],
)
def test_an_owner_that_is_not_exactly_one_slot_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"exactly one owner|item key"):
        PhotoOwner(**fields)


# --- saved and read back -------------------------------------------------------------------------


async def test_an_audit_item_photo_and_an_after_photo_are_saved_and_read_back(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org_id = owners.field.org.id
    item = PhotoOwner.audit_item(owners.audit_id, "shelf_clean")
    after = PhotoOwner.after(owners.rectification_id)
    fresh = encode(synthetic_photo(12, (900, 1200)), "JPEG", quality=85)

    saved_item = await accept(sessionmaker, settings, storage, org_id, item, shelf_jpeg)
    saved_after = await accept(sessionmaker, settings, storage, org_id, after, fresh)

    for accepted, owner, slot, size in (
        (saved_item, item, "item-shelf_clean", (1200, 900)),
        (saved_after, after, "after", (900, 1200)),
    ):
        photo = accepted.photo
        assert (accepted.changed, accepted.replaced) == (True, False)
        assert photo.visit_id is None and photo.kind is None
        assert (photo.audit_id, photo.item_key, photo.rectification_id) == (
            owner.audit_id,
            owner.item_key,
            owner.rectification_id,
        )
        assert photo.storage_key.startswith(f"{org_id}/{owner.owner_id}/{slot}-")
        assert photo.thumb_key == photo.storage_key.removesuffix(".jpg") + ".thumb.jpg"
        assert decoded_size(await photo_service.read_file(storage, photo, thumbnail=False)) == size
        thumb = await photo_service.read_file(storage, photo, thumbnail=True)
        assert max(decoded_size(thumb)) <= 320
        assert await band_owners(sessionmaker, photo.id) == {owner.owner_id}

    async with session_scope(sessionmaker) as session:
        current = await photo_service.current(session, org_id, item)
        assert current is not None and current.id == saved_item.photo.id
        assert await photo_service.current(session, org_id, PhotoOwner.after(uuid.uuid4())) is None
        audits = await photo_service.photos_of_audits(
            session, org_id, [owners.audit_id, uuid.uuid4()]
        )
        assert {a: {k: p.id for k, p in by_key.items()} for a, by_key in audits.items()} == {
            owners.audit_id: {"shelf_clean": saved_item.photo.id},
            **{a: {} for a in audits if a != owners.audit_id},
        }
        assert len(audits) == 2
        afters = await photo_service.after_photos(
            session, org_id, [owners.rectification_id, uuid.uuid4()]
        )
        assert {r: p.id for r, p in afters.items()} == {
            owners.rectification_id: saved_after.photo.id
        }
        # Another org sees none of them.
        assert await photo_service.current(session, uuid.uuid4(), item) is None


async def test_a_new_upload_replaces_the_audit_items_photo_in_place(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org_id = owners.field.org.id
    item = PhotoOwner.audit_item(owners.audit_id, "shelf_clean")
    other_item = PhotoOwner.audit_item(owners.audit_id, "door_clean")
    first = await accept(sessionmaker, settings, storage, org_id, item, shelf_jpeg)
    fresh = encode(synthetic_photo(13, (1200, 900)), "JPEG", quality=85)
    second = await accept(sessionmaker, settings, storage, org_id, item, fresh)
    beside = await accept(sessionmaker, settings, storage, org_id, other_item, fresh)

    assert second.changed and second.replaced
    assert second.photo.id == first.photo.id  # the slot's row, upserted on its partial index
    assert second.photo.original_sha256 == hashlib.sha256(fresh).digest()
    assert beside.photo.id != first.photo.id  # another item of the audit is another slot
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Photo)) == 2
        bands = set(
            await session.scalars(
                select(PhotoHashBand.band_key).where(PhotoHashBand.photo_id == first.photo.id)
            )
        )
    assert bands == set(
        processing.hash_bands(second.photo.phash, bits_per_band=photo_service.BAND_BITS)
    )


async def test_the_one_owner_check_refuses_a_row_with_two_owners(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org_id = owners.field.org.id
    after = PhotoOwner.after(owners.rectification_id)
    saved = await accept(sessionmaker, settings, storage, org_id, after, shelf_jpeg)
    columns = (
        "org_id, original_sha256, sha256, phash, width, height, bytes, thumb_bytes, storage_key, "
        "thumb_key, original_format, original_width, original_height, original_bytes, flags, "
        "taken_at, created_at, updated_at"
    )
    # A copy of a real row, with a second owner (the audit's item) besides its rectification.
    copy = text(
        f"INSERT INTO photos (id, audit_id, item_key, rectification_id, {columns}) "  # noqa: S608
        f"SELECT :id, :audit_id, 'shelf_clean', rectification_id, {columns} "
        "FROM photos WHERE id = :photo_id"
    )
    with pytest.raises(IntegrityError, match="one_owner"):
        async with session_scope(sessionmaker) as session:
            await session.execute(
                copy,
                {"id": uuid.uuid4(), "audit_id": owners.audit_id, "photo_id": saved.photo.id},
            )
    # Neither owner at all is refused too.
    no_owner = text(
        f"INSERT INTO photos (id, {columns}) SELECT :id, {columns} "  # noqa: S608
        "FROM photos WHERE id = :photo_id"
    )
    with pytest.raises(IntegrityError, match="one_owner"):
        async with session_scope(sessionmaker) as session:
            await session.execute(no_owner, {"id": uuid.uuid4(), "photo_id": saved.photo.id})
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Photo)) == 1


# --- one duplicate lookup across every owner -----------------------------------------------------


async def test_a_visit_photo_that_repeats_an_audit_photo_is_flagged_with_the_audit(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    field, org_id = owners.field, owners.field.org.id
    audit_photo = await accept(
        sessionmaker,
        settings,
        storage,
        org_id,
        PhotoOwner.audit_item(owners.audit_id, "shelf_clean"),
        shelf_jpeg,
    )
    checked_in = await field.check_in(field.check_in_body(owners.store))
    assert checked_in.status_code == 201, checked_in.text
    visit_id = checked_in.json()["id"]

    response = await field.client.put(
        f"/api/v1/visits/{visit_id}/photos/shelf",
        files={"file": ("shelf.jpg", shelf_jpeg, "image/jpeg")},
        headers=field.org.rep.headers,
    )
    assert response.status_code == 201, response.text
    (flag,) = response.json()["flags"]
    assert flag["code"] == "duplicate_photo"
    assert flag["kind"] == "shelf"
    assert flag["other_audit_id"] == str(owners.audit_id)
    assert flag["other_visit_id"] is None and flag["other_rectification_id"] is None
    assert "identical to an audit photo" in flag["detail"]["en"]
    assert "巡店照片完全相同" in flag["detail"]["zh"]
    visit = await field.client.get(f"/api/v1/visits/{visit_id}", headers=field.org.rep.headers)
    assert [f["code"] for f in visit.json()["trust"]["flags"]] == ["duplicate_photo"]

    # The lookup itself: the audit's photo, with its owner, at distance 0 (the same bytes).
    async with session_scope(sessionmaker) as session:
        stored = await photo_service.current(
            session, org_id, PhotoOwner.visit(uuid.UUID(visit_id), PhotoKind.shelf)
        )
        assert stored is not None
        matches = await photo_service.find_duplicates(
            session,
            org_id,
            phash=stored.phash,
            original_sha256=hashlib.sha256(shelf_jpeg).digest(),
            exclude_owner_id=uuid.UUID(visit_id),
            now=utc_now(),
        )
        # 180 days later the audit photo is out of the window.
        later = await photo_service.find_duplicates(
            session,
            org_id,
            phash=stored.phash,
            original_sha256=hashlib.sha256(shelf_jpeg).digest(),
            exclude_owner_id=uuid.UUID(visit_id),
            now=audit_photo.photo.taken_at + photo_service.DUPLICATE_WINDOW + timedelta(seconds=1),
        )
    assert matches == [
        DuplicateMatch(
            photo_id=audit_photo.photo.id,
            distance=0,
            taken_at=audit_photo.photo.taken_at,
            owner_id=owners.audit_id,
            audit_id=owners.audit_id,
        )
    ]
    assert matches[0].owner_kind is OwnerKind.audit_item
    assert later == []


async def test_an_after_photo_that_repeats_its_before_photo_is_found_and_a_near_copy_too(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org_id = owners.field.org.id
    before = await accept(
        sessionmaker,
        settings,
        storage,
        org_id,
        PhotoOwner.audit_item(owners.audit_id, "shelf_clean"),
        shelf_jpeg,
    )
    # The same scene recompressed and downscaled: not the same bytes, a close perceptual hash.
    near_copy = encode(Image.open(io.BytesIO(shelf_jpeg)).resize((800, 600)), "JPEG", quality=60)
    calls = Calls()
    after = await accept(
        sessionmaker,
        settings,
        storage,
        org_id,
        PhotoOwner.after(owners.rectification_id),
        near_copy,
        calls,
    )
    (duplicates,) = calls.duplicates
    assert [(d.photo_id, d.audit_id, d.owner_id) for d in duplicates] == [
        (before.photo.id, owners.audit_id, owners.audit_id)
    ]
    # Found by its hash bands (the bytes differ), whatever the perceptual distance.
    assert duplicates[0].distance <= photo_service.DUPLICATE_MAX_DISTANCE
    assert after.duplicates == duplicates
    (flag,) = after.photo.flags
    assert flag["other_audit_id"] == str(owners.audit_id)
    assert flag["detail"]["en"].startswith("item photo ")
    assert " to an audit photo on " in flag["detail"]["en"]

    # A later audit photo repeating the after photo names the rectification (and the audit's
    # own item photo is never its duplicate: the audit is the excluded owner).
    calls = Calls()
    again = await accept(
        sessionmaker,
        settings,
        storage,
        org_id,
        PhotoOwner.audit_item(owners.audit_id, "door_clean"),
        near_copy,
        calls,
    )
    assert [(d.photo_id, d.rectification_id, d.owner_kind) for d in calls.duplicates[0]] == [
        (after.photo.id, owners.rectification_id, OwnerKind.after)
    ]
    assert again.photo.flags[0]["other_rectification_id"] == str(owners.rectification_id)
    assert "a rectification photo" in again.photo.flags[0]["detail"]["en"]


def test_the_duplicate_flag_says_what_was_matched_in_both_languages() -> None:
    at = datetime(2026, 11, 30, 9, 0).astimezone()
    owner_id = uuid.uuid4()
    expected = {
        "visit_id": ("另一次拜访的照片", "a photo of another visit", "other_visit_id"),
        "audit_id": ("巡店照片", "an audit photo", "other_audit_id"),
        "rectification_id": ("整改照片", "a rectification photo", "other_rectification_id"),
    }
    for column, (zh, en, other) in expected.items():
        match = DuplicateMatch(
            photo_id=uuid.uuid4(), distance=3, taken_at=at, owner_id=owner_id, **{column: owner_id}
        )
        flag = photo_service.duplicate_flag(
            match, subject_zh="shelf 照片", subject_en="shelf photo"
        )
        day = at.date().isoformat()
        assert flag == {
            "code": "duplicate_photo",
            "weight": 30,
            "detail": {
                "zh": f"shelf 照片与 {day} {zh}高度相似（差异 3）",
                "en": f"shelf photo near-identical (distance 3) to {en} on {day}",
            },
            other: str(owner_id),
        }


# --- replays -------------------------------------------------------------------------------------


async def test_a_replayed_identical_upload_is_not_processed_twice(
    owners: Owners,
    shelf_jpeg: bytes,
    settings: Settings,
    storage: Storage,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org_id = owners.field.org.id
    owner = PhotoOwner.audit_item(owners.audit_id, "shelf_clean")
    processed: list[int] = []
    real_process_photo = processing.process_photo

    def counting_process_photo(data: bytes, **kwargs: Any) -> processing.ProcessedPhoto:
        processed.append(len(data))
        return real_process_photo(data, **kwargs)

    monkeypatch.setattr(processing, "process_photo", counting_process_photo)
    calls = Calls()
    first = await accept(sessionmaker, settings, storage, org_id, owner, shelf_jpeg, calls)
    replay = await accept(
        sessionmaker,
        settings,
        storage,
        org_id,
        owner,
        shelf_jpeg,
        calls,
        now=utc_now() + timedelta(hours=3),
    )

    assert processed == [len(shelf_jpeg)]  # the replay decoded nothing
    assert calls.watermarks == 1 and len(calls.duplicates) == 1  # nor asked the caller again
    assert (replay.changed, replay.replaced, replay.duplicates) == (False, False, [])
    assert replay.photo.id == first.photo.id
    assert replay.photo.updated_at == first.photo.updated_at  # nothing was written
    assert replay.photo.taken_at == first.photo.taken_at
