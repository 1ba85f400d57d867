"""Blob storage for photos behind one interface: the local filesystem or an S3-compatible service.

Keys are relative, slash-separated paths of ``[A-Za-z0-9._-]`` segments (no empty, ``.``/``..``
or dot-leading segment, at most 512 characters): ``orgs/<org>/photos/<id>.jpg``.

:class:`LocalStorage` writes atomically: the bytes go to a temp file (``.tmp-*``) in the target
directory, are flushed and fsynced, the temp file is renamed over the final name
(``os.replace``) and the directory is fsynced. A reader therefore sees either no file or the
whole file, never a partial one; a crash between the write and the rename leaves only a
``.tmp-*`` file that :meth:`LocalStorage.sweep_temp_files` removes later. An ordinary error
during a put removes its temp file at once. Blocking file I/O runs in a worker thread.

:class:`S3Storage` (aioboto3) relies on S3's own atomic PUT; :meth:`S3Storage.start` creates the
bucket when it is missing.
"""

import contextlib
import os
import re
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, Self, runtime_checkable

import aioboto3
import anyio.to_thread
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from backend.config import Settings, StorageBackend

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client

TEMP_PREFIX: Final = ".tmp-"
MAX_KEY_LENGTH: Final = 512
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class StorageError(Exception):
    """Base of the storage errors (these are server-side faults, not client errors)."""


class InvalidKey(StorageError, ValueError):
    """The key is not a safe relative path."""


class ObjectNotFound(StorageError, KeyError):
    """No object is stored under the key."""


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path (see the module doc), else raise InvalidKey."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"invalid storage key length: {len(key)}")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(f"invalid storage key: {key!r}")
    return key


@runtime_checkable
class Storage(Protocol):
    async def start(self) -> None:
        """Prepare the backend (create the directory or bucket); call once at startup."""

    async def close(self) -> None:
        """Release connections."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` atomically, replacing any previous object."""

    async def get(self, key: str) -> bytes:
        """The stored bytes; :class:`ObjectNotFound` when there are none."""

    async def exists(self, key: str) -> bool:
        """Whether a complete object is stored under ``key``."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""

    async def sweep_temp_files(self, older_than_s: float) -> int:
        """Remove temp files left by interrupted writes older than ``older_than_s``; the count."""


# --- local filesystem -----------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _StartedWith:
    """``async with storage:`` starts it and closes it afterwards."""

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class LocalStorage(_StartedWith):
    """Files under ``root``, one per key, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._makedirs, self.root)

    async def close(self) -> None:
        return None

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (validated; always inside ``root``)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_for(key)
        await anyio.to_thread.run_sync(self._put, path, data)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    async def exists(self, key: str) -> bool:
        path = self.path_for(key)
        return await anyio.to_thread.run_sync(path.is_file)

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        await anyio.to_thread.run_sync(self._delete, path)

    async def sweep_temp_files(self, older_than_s: float) -> int:
        return await anyio.to_thread.run_sync(self._sweep, older_than_s)

    # blocking parts, run in a worker thread

    def _makedirs(self, directory: Path) -> None:
        """Create ``directory`` and any missing parents, fsyncing each new entry's parent."""
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):
                new.mkdir()
            _fsync_dir(new.parent)

    def _put(self, path: Path, data: bytes) -> None:
        directory = path.parent
        self._makedirs(directory)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except Exception:
            # An ordinary failure cleans up; a crash (the process dying) leaves the temp file
            # for sweep_temp_files — the final name never points at a partial file either way.
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(directory)

    def _delete(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def _sweep(self, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self.root):
            for name in filenames:
                if not name.startswith(TEMP_PREFIX):
                    continue
                path = Path(dirpath, name)
                try:
                    if path.stat().st_mtime <= cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed


# --- S3-compatible --------------------------------------------------------------------------------


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error.get("Code") in {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


class S3Storage(_StartedWith):
    """Objects in one bucket of an S3-compatible service (AWS, MinIO, Ceph, moto ...).

    Call :meth:`start` (or use ``async with``) before anything else: it opens one client for the
    lifetime of the storage and creates the bucket when it is missing.
    """

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        region: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._stack: AsyncExitStack | None = None
        self._s3: S3Client | None = None

    @property
    def client(self) -> "S3Client":
        if self._s3 is None:
            raise RuntimeError("S3Storage.start() has not been called")
        return self._s3

    async def start(self) -> None:
        if self._s3 is not None:
            return
        stack = AsyncExitStack()
        config = AioConfig(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )
        try:
            self._s3 = await stack.enter_async_context(
                self._session.client("s3", endpoint_url=self.endpoint_url, config=config)
            )
            self._stack = stack
            await self.ensure_bucket()
        except BaseException:
            self._s3 = self._stack = None
            await stack.aclose()
            raise

    async def close(self) -> None:
        stack, self._stack, self._s3 = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (racing creators are fine)."""
        try:
            await self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
        try:
            if self.region == "us-east-1":
                await self.client.create_bucket(Bucket=self.bucket)
            else:
                await self.client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.client.put_object(
            Bucket=self.bucket, Key=validate_key(key), Body=data, ContentType=content_type
        )

    async def get(self, key: str) -> bytes:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise ObjectNotFound(key) from None
            raise
        async with response["Body"] as body:
            return await body.read()

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    async def sweep_temp_files(self, older_than_s: float) -> int:
        """Nothing to sweep: an S3 PUT is atomic and leaves no temp object."""
        return 0


def build_storage(settings: Settings) -> Storage:
    """The configured storage (not started): local under ``data_dir/photos`` or S3."""
    if settings.storage == StorageBackend.s3:
        secret = settings.s3_secret_access_key
        return S3Storage(
            endpoint_url=settings.s3_endpoint_url,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )
    return LocalStorage(settings.data_dir / "photos")
