import asyncio
import io
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.storage import LocalStorage
from backend.models import Photo, PhotoHashBand, PhotoKind
from backend.photos.processing import hash_bands
from backend.photos.service import BAND_BITS
from tests.factories.images import encode, png_bomb, synthetic_photo
from tests.factories.stores import create_team
from tests.factories.visits import Field


@pytest.fixture(scope="module")
def camera_jpeg() -> bytes:
    return encode(synthetic_photo(7, (1600, 1200)), "JPEG", quality=85)


async def open_visit(field: Field, team: bool = False) -> str:
    if team:
        await create_team(field.client, field.org)
    store = await field.store()
    response = await field.check_in(field.check_in_body(store))
    assert response.status_code == 201, response.text
    visit_id: str = response.json()["id"]
    return visit_id


async def put_photo(
    field: Field, visit_id: str, kind: str, data: bytes, filename: str = "photo.jpg"
) -> httpx.Response:
    return await field.client.put(
        f"/api/v1/visits/{visit_id}/photos/{kind}",
        files={"file": (filename, data, "image/jpeg")},
        headers=field.org.rep.headers,
    )


async def _photo_then_another_visit(field: Field, photo: bytes) -> tuple[str, str]:
    """A visit with ``photo`` as its storefront, given up, and then the rep's next open visit."""
    first = await open_visit(field)
    assert (await put_photo(field, first, "storefront", photo)).status_code == 201
    await field.abandon(first, "next")
    return first, await open_visit(field)


async def photo_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        return int(await session.scalar(select(func.count()).select_from(Photo)) or 0)


async def test_upload_serve_and_replay(field: Field, camera_jpeg: bytes) -> None:
    visit_id = await open_visit(field, team=True)
    response = await put_photo(field, visit_id, "storefront", camera_jpeg)
    assert response.status_code == 201, response.text
    photo = response.json()
    assert photo["kind"] == "storefront"
    assert (photo["width"], photo["height"]) == (1600, 1200)
    assert photo["flags"] == []

    for actor in (field.org.rep, field.org.supervisor, field.org.admin):
        served = await field.client.get(photo["url"], headers=actor.headers)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert Image.open(io.BytesIO(served.content)).size == (1600, 1200)
    thumb = await field.client.get(photo["thumb_url"], headers=field.org.rep.headers)
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    assert (await field.client.get(photo["url"])).status_code == 401
    other = await field.client.get(photo["url"], headers=field.org.other_rep.headers)
    assert other.status_code == 404

    again = await put_photo(field, visit_id, "storefront", camera_jpeg)
    assert again.status_code == 200
    assert again.json()["sha256"] == photo["sha256"]
    visit = await field.client.get(f"/api/v1/visits/{visit_id}", headers=field.org.rep.headers)
    assert set(visit.json()["photos"]) == {"storefront"}


async def test_stored_copy_is_reencoded_without_metadata_or_trailing_data(
    field: Field, camera_jpeg: bytes
) -> None:
    visit_id = await open_visit(field)
    smuggled = camera_jpeg + b"PK\x03\x04" + os.urandom(2000)
    response = await put_photo(field, visit_id, "shelf", smuggled)
    assert response.status_code == 201
    served = await field.client.get(response.json()["url"], headers=field.org.rep.headers)
    assert b"PK\x03\x04" not in served.content
    assert served.content.endswith(b"\xff\xd9")
    assert not Image.open(io.BytesIO(served.content)).getexif()


@pytest.mark.parametrize(
    ("name", "payload", "status", "code"),
    [
        ("bomb.png", png_bomb(), 422, "invalid_photo"),
        ("page.jpg", b"<!doctype html><html><body>hi</body></html>", 422, "invalid_photo"),
        ("logo.jpg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', 422, "invalid_photo"),
        ("doc.jpg", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", 422, "invalid_photo"),
        ("empty.jpg", b"", 422, "invalid_photo"),
        ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024), 413, "photo_too_large"),
    ],
)
async def test_hostile_uploads_are_refused(
    field: Field,
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    payload: bytes,
    status: int,
    code: str,
) -> None:
    visit_id = await open_visit(field)
    response = await put_photo(field, visit_id, "storefront", payload, name)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await photo_rows(sessionmaker) == 0


async def test_unknown_kind_is_a_validation_error(field: Field, camera_jpeg: bytes) -> None:
    visit_id = await open_visit(field)
    response = await put_photo(field, visit_id, "selfie", camera_jpeg)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/path/kind"


async def test_duplicate_photo_flags_only_the_second_visit(
    field: Field, camera_jpeg: bytes
) -> None:
    first, second = await _photo_then_another_visit(field, camera_jpeg)
    copy = Image.open(io.BytesIO(camera_jpeg)).resize((800, 600))
    recompressed = encode(copy, "JPEG", quality=60)
    response = await put_photo(field, second, "shelf", recompressed)
    assert response.status_code == 201
    assert [f["code"] for f in response.json()["flags"]] == ["duplicate_photo"]

    visits = {}
    for visit_id in (first, second):
        body = await field.client.get(f"/api/v1/visits/{visit_id}", headers=field.org.rep.headers)
        visits[visit_id] = body.json()
    first_codes = {f["code"] for f in visits[first]["trust"]["flags"]}
    second_flags = visits[second]["trust"]["flags"]
    assert "duplicate_photo" not in first_codes
    assert [f["kind"] for f in second_flags if f["code"] == "duplicate_photo"] == ["shelf"]
    assert visits[second]["trust"]["score"] < 100

    # Replacing the copied photo with a fresh one clears the flag.
    fresh = encode(synthetic_photo(99, (1600, 1200)), "JPEG", quality=85)
    assert (await put_photo(field, second, "shelf", fresh)).status_code == 201
    body = await field.client.get(f"/api/v1/visits/{second}", headers=field.org.rep.headers)
    assert all(f["code"] != "duplicate_photo" for f in body.json()["trust"]["flags"])


async def test_replacing_a_photo_rewrites_its_hash_bands(
    field: Field, camera_jpeg: bytes, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    visit_id = await open_visit(field)
    fresh = encode(synthetic_photo(98, (1600, 1200)), "JPEG", quality=85)
    for data in (camera_jpeg, fresh):  # a first upload, then its replacement
        response = await put_photo(field, visit_id, "storefront", data)
        assert response.status_code == 201
        async with session_scope(sessionmaker) as session:
            photo = await session.scalar(
                select(Photo).where(
                    Photo.visit_id == uuid.UUID(visit_id), Photo.kind == PhotoKind.storefront
                )
            )
            assert photo is not None
            assert response.json()["sha256"] == photo.sha256.hex()  # the new row came back
            bands = (
                await session.execute(
                    select(
                        PhotoHashBand.band_key, PhotoHashBand.phash, PhotoHashBand.taken_at
                    ).where(PhotoHashBand.photo_id == photo.id)
                )
            ).all()
        assert sorted(key for key, _, _ in bands) == sorted(
            hash_bands(photo.phash, bits_per_band=BAND_BITS)
        )
        assert {(phash, taken_at) for _, phash, taken_at in bands} == {
            (photo.phash, photo.taken_at)
        }


async def test_the_same_bytes_in_another_visit_are_an_identical_duplicate(
    field: Field, camera_jpeg: bytes
) -> None:
    _, second = await _photo_then_another_visit(field, camera_jpeg)
    response = await put_photo(field, second, "shelf", camera_jpeg)
    assert response.status_code == 201
    flags = response.json()["flags"]
    assert [f["code"] for f in flags] == ["duplicate_photo"]
    assert "identical" in flags[0]["detail"]["en"]  # distance 0: found by bytes and by hash


async def test_photos_are_refused_once_the_visit_is_closed(
    field: Field, camera_jpeg: bytes
) -> None:
    visit_id = await open_visit(field)
    await field.abandon(visit_id, "x")
    response = await put_photo(field, visit_id, "storefront", camera_jpeg)
    assert response.status_code == 409
    assert response.json()["code"] == "visit_not_open"


async def test_replay_storm_makes_one_photo(
    field: Field, camera_jpeg: bytes, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    visit_id = await open_visit(field)
    gate = asyncio.Semaphore(20)

    async def send() -> int:
        async with gate:
            return (await put_photo(field, visit_id, "conversation", camera_jpeg)).status_code

    statuses = await asyncio.gather(*(send() for _ in range(100)))
    assert statuses.count(201) == 1
    assert statuses.count(200) == 99
    assert await photo_rows(sessionmaker) == 1


class SimulatedCrash(BaseException):
    """The process dying between the temp file and the rename."""


async def test_a_crash_mid_write_leaves_no_row_and_the_temp_file_is_swept(
    field: Field,
    camera_jpeg: bytes,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visit_id = await open_visit(field)

    def crash(src: Any, dst: Any) -> None:
        raise SimulatedCrash()

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SimulatedCrash):
        await put_photo(field, visit_id, "storefront", camera_jpeg)
    monkeypatch.undo()

    assert await photo_rows(sessionmaker) == 0
    root = settings.data_dir / "photos"
    leftovers = [p for p in Path(root).rglob(".tmp-*")]
    assert leftovers
    assert not [p for p in Path(root).rglob("*.jpg") if not p.name.startswith(".tmp-")]
    assert await LocalStorage(root).sweep_temp_files(0) == len(leftovers)
    assert not list(Path(root).rglob(".tmp-*"))

    retry = await put_photo(field, visit_id, "storefront", camera_jpeg)
    assert retry.status_code == 201
    served = await field.client.get(retry.json()["url"], headers=field.org.rep.headers)
    assert served.status_code == 200
