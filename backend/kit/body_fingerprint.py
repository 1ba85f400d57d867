"""What makes two request bodies "the same request" for ``Idempotency-Key``.

Most bodies are compared byte for byte (their SHA-256). A ``multipart/form-data`` body is not:
every attempt has a fresh random boundary, so a retried upload would never match its first
attempt. For those the fingerprint is over the parsed parts, in order: each part's field name,
whether it is a file, its content type and the SHA-256 of its bytes; and the body's charset,
which decides how text fields are read.

A file's *filename* is left out on purpose: no endpoint reads it (an upload is judged by its
bytes), and a client retrying the same Blob may name it differently (``blob``, a timestamped
name). Two uploads with the same field, type and bytes do the same thing, so they replay.
"""

import hashlib
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

_MULTIPART = b"multipart/form-data"
# Separates the two kinds of fingerprint, so no parsed form can collide with a raw body.
_MULTIPART_DOMAIN = b"doorstep-multipart-v1\x00"


def body_fingerprint(content_type: bytes | None, body: bytes) -> bytes:
    """The SHA-256 that identifies ``body`` (sent with ``content_type``) for replays."""
    media_type, options = parse_options_header(content_type or b"")
    boundary = options.get(b"boundary")
    if media_type != _MULTIPART or not boundary:
        return hashlib.sha256(body).digest()
    try:
        return _multipart_fingerprint(boundary, options.get(b"charset", b""), body)
    except FormParserError:
        # Malformed: the endpoint will refuse it; the raw bytes identify it well enough.
        return hashlib.sha256(body).digest()


def _multipart_fingerprint(boundary: bytes, charset: bytes, body: bytes) -> bytes:
    parts = _PartDigests()
    parser = MultipartParser(boundary, parts.callbacks())
    parser.write(body)
    parser.finalize()
    return hashlib.sha256(
        _MULTIPART_DOMAIN + _framed(charset.lower()) + b"".join(parts.digests)
    ).digest()


def _framed(value: bytes) -> bytes:
    """Length-prefixed, so that adjacent values cannot run into each other."""
    return len(value).to_bytes(4, "big") + value


class _PartDigests:
    """Collects one digest per part as the parser streams through the body."""

    def __init__(self) -> None:
        self.digests: list[bytes] = []
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._content = hashlib.sha256()

    def callbacks(self) -> "MultipartCallbacks":
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._content = hashlib.sha256()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._content.update(data[start:end])

    def _part_end(self) -> None:
        _, disposition = parse_options_header(self._headers.get(b"content-disposition"))
        content_type, _ = parse_options_header(self._headers.get(b"content-type"))
        is_file = b"1" if b"filename" in disposition else b"0"
        self.digests.append(
            _framed(disposition.get(b"name", b""))
            + is_file
            + _framed(content_type)
            + self._content.digest()
        )
