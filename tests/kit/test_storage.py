"""The same storage contract against the local filesystem and a real S3-compatible server.

The S3 server is moto's server mode, started here as a subprocess on a free loopback port.
"""

import asyncio
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.config import Environment, Settings, StorageBackend
from backend.kit.storage import (
    TEMP_PREFIX,
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    build_storage,
    validate_key,
)
from tests.s3 import ACCESS_KEY, SECRET_KEY


def _s3(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(
        endpoint_url=endpoint,
        bucket=bucket,
        region="us-east-1",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store: Storage
    if request.param == "local":
        store = LocalStorage(tmp_path / "photos")
    else:
        endpoint: str = request.getfixturevalue("s3_endpoint")
        store = _s3(endpoint, f"doorstep-{uuid.uuid4().hex[:12]}")
    await store.start()
    try:
        yield store
    finally:
        await store.close()


# --- the contract, for both -----------------------------------------------------------------------


async def test_put_get_exists_delete(storage: Storage) -> None:
    key = "orgs/o1/photos/p1.jpg"
    assert not await storage.exists(key)
    await storage.put(key, b"\xff\xd8 photo bytes", "image/jpeg")
    assert await storage.exists(key)
    assert await storage.get(key) == b"\xff\xd8 photo bytes"
    await storage.delete(key)
    assert not await storage.exists(key)
    await storage.delete(key)  # deleting again is fine


async def test_overwrite_replaces_whole_object(storage: Storage) -> None:
    await storage.put("a/b.jpg", b"x" * 10_000, "image/jpeg")
    await storage.put("a/b.jpg", b"short", "image/jpeg")
    assert await storage.get("a/b.jpg") == b"short"


async def test_binary_roundtrip_of_a_megabyte(storage: Storage) -> None:
    data = os.urandom(1024 * 1024)
    await storage.put("big/one.bin", data, "application/octet-stream")
    assert await storage.get("big/one.bin") == data


async def test_get_missing_raises_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.get("nothing/here.jpg")
    with pytest.raises(KeyError):  # ObjectNotFound is a KeyError too
        await storage.get("nothing/here.jpg")


BAD_KEYS = [
    "",
    "../escape.jpg",
    "a/../../escape.jpg",
    "/etc/passwd",
    "a//b.jpg",
    "a/./b.jpg",
    "a/",
    ".hidden",
    f"a/{TEMP_PREFIX}abc",
    "a\\b.jpg",
    "a b.jpg",
    "café.jpg",
    "a\x00b.jpg",
    "x" * 600,
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_unsafe_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    with pytest.raises(InvalidKey):
        await storage.exists(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)


@pytest.mark.parametrize("key", ["a.jpg", "orgs/0f3c/photos/1a2b-3c.thumb.jpg", "A_b-9/x.y"])
def test_safe_keys_pass(key: str) -> None:
    assert validate_key(key) == key


async def test_concurrent_puts_of_one_key_leave_one_complete_object(storage: Storage) -> None:
    payloads = [bytes([i]) * (200_000 + i) for i in range(20)]
    await asyncio.gather(*(storage.put("race/p.jpg", p, "image/jpeg") for p in payloads))
    assert await storage.get("race/p.jpg") in payloads
    if isinstance(storage, LocalStorage):
        assert [p.name for p in storage.path_for("race/p.jpg").parent.iterdir()] == ["p.jpg"]


async def test_sweep_with_nothing_to_sweep(storage: Storage) -> None:
    await storage.put("k/v.jpg", b"v", "image/jpeg")
    assert await storage.sweep_temp_files(0) == 0
    assert await storage.get("k/v.jpg") == b"v"


# --- local filesystem: atomicity and crash safety -------------------------------------------------


class SimulatedCrash(BaseException):
    """The process dying between the temp write and the rename: no cleanup code runs."""


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file()]


def _crash_next_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise SimulatedCrash
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


async def test_crash_between_write_and_rename_leaves_only_a_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "photos")
    await store.start()
    _crash_next_replace(monkeypatch)
    with pytest.raises(SimulatedCrash):
        await store.put("orgs/o/p.jpg", b"complete photo", "image/jpeg")

    assert not store.path_for("orgs/o/p.jpg").exists()
    assert not await store.exists("orgs/o/p.jpg")
    with pytest.raises(ObjectNotFound):
        await store.get("orgs/o/p.jpg")
    temps = _temp_files(store.root)
    assert len(temps) == 1
    assert temps[0].parent == store.path_for("orgs/o/p.jpg").parent
    assert temps[0].read_bytes() == b"complete photo"  # fsynced before the rename

    assert await store.sweep_temp_files(older_than_s=3600) == 0  # too fresh: maybe in flight
    assert _temp_files(store.root) == temps
    assert await store.sweep_temp_files(older_than_s=0) == 1
    assert _temp_files(store.root) == []

    await store.put("orgs/o/p.jpg", b"complete photo", "image/jpeg")  # the retry works
    assert await store.get("orgs/o/p.jpg") == b"complete photo"


async def test_crash_while_replacing_keeps_the_old_object_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "photos")
    await store.put("p.jpg", b"old" * 1000, "image/jpeg")
    _crash_next_replace(monkeypatch)
    with pytest.raises(SimulatedCrash):
        await store.put("p.jpg", b"new", "image/jpeg")
    assert await store.get("p.jpg") == b"old" * 1000


async def test_an_ordinary_error_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "photos")
    await store.start()

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space"):
        await store.put("x/p.jpg", b"data", "image/jpeg")
    assert _temp_files(store.root) == []
    assert not await store.exists("x/p.jpg")


async def test_sweep_removes_only_stale_temp_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "photos")
    await store.put("d/keep.jpg", b"keep", "image/jpeg")
    directory = store.path_for("d/keep.jpg").parent
    stale, fresh = directory / f"{TEMP_PREFIX}stale", directory / f"{TEMP_PREFIX}fresh"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"in flight")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    assert await store.sweep_temp_files(older_than_s=600) == 1
    assert not stale.exists()
    assert fresh.exists()
    assert await store.get("d/keep.jpg") == b"keep"


async def test_put_fsyncs_the_file_and_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "photos")
    await store.start()
    await store.put("d/first.jpg", b"1", "image/jpeg")  # creates d/
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    await store.put("d/second.jpg", b"2", "image/jpeg")
    assert synced == ["file", "dir"]


async def test_local_paths_stay_under_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "photos")
    path = store.path_for("orgs/o/p.jpg")
    assert path == tmp_path / "photos" / "orgs" / "o" / "p.jpg"
    assert path.resolve().is_relative_to((tmp_path / "photos").resolve())


# --- S3: bucket creation --------------------------------------------------------------------------


async def test_s3_start_creates_the_bucket_once(s3_endpoint: str) -> None:
    bucket = f"doorstep-{uuid.uuid4().hex[:12]}"
    async with _s3(s3_endpoint, bucket) as first:
        await first.put("a.jpg", b"a", "image/jpeg")
        async with _s3(s3_endpoint, bucket) as second:  # bucket exists: nothing to do
            assert await second.get("a.jpg") == b"a"
        await first.ensure_bucket()
        assert await first.exists("a.jpg")


async def test_s3_stores_the_content_type(s3_endpoint: str) -> None:
    async with _s3(s3_endpoint, f"doorstep-{uuid.uuid4().hex[:12]}") as store:
        await store.put("t.jpg", b"\xff\xd8", "image/jpeg")
        head = await store.client.head_object(Bucket=store.bucket, Key="t.jpg")
        assert head["ContentType"] == "image/jpeg"


async def test_s3_needs_start() -> None:
    store = _s3("http://127.0.0.1:9", "b")
    with pytest.raises(RuntimeError, match="start"):
        await store.get("a.jpg")


# --- factory --------------------------------------------------------------------------------------


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        environment=Environment.test, data_dir=tmp_path / "data", _env_file=None, **overrides
    )


def test_build_storage_local(tmp_path: Path) -> None:
    store = build_storage(_settings(tmp_path))
    assert isinstance(store, LocalStorage)
    assert store.root == tmp_path / "data" / "photos"


def test_build_storage_s3(tmp_path: Path) -> None:
    store = build_storage(
        _settings(
            tmp_path,
            storage=StorageBackend.s3,
            s3_endpoint_url="http://127.0.0.1:9000",
            s3_bucket="photos-bucket",
            s3_region="eu-west-1",
            s3_access_key_id="AK",
            s3_secret_access_key="SK",
        )
    )
    assert isinstance(store, S3Storage)
    assert (store.endpoint_url, store.bucket, store.region) == (
        "http://127.0.0.1:9000",
        "photos-bucket",
        "eu-west-1",
    )
    assert isinstance(store, Storage)
