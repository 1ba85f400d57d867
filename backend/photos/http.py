"""How a stored photo is served: one response shape for every photo route (visits, audit
items, rectifications)."""

from typing import Any

from fastapi import Response

IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The stored JPEG"}
}


def image_response(data: bytes, etag: str) -> Response:
    """The JPEG, private to the signed-in caller and cacheable by their browser for a day (a
    stored photo never changes under its ETag)."""
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400",
            "ETag": f'"{etag}"',
        },
    )
