"""Errors raised while accepting a photo upload."""

from typing import Any

from backend.errors import AppError


class InvalidPhoto(AppError):
    """The upload is not a JPEG, PNG, WebP or HEIC image that decodes, or it is too big in
    pixels (a decompression bomb)."""

    status, code = 422, "invalid_photo"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The file is not a JPEG, PNG, WebP or HEIC photo.", **kwargs)


class PhotoTooLarge(AppError):
    """The upload is larger than the byte limit (10 MiB)."""

    status, code = 413, "photo_too_large"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The photo is larger than 10 MiB.", **kwargs)
