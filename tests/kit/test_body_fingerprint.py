"""Which request bodies count as the same request for ``Idempotency-Key`` (no database)."""

import hashlib
from typing import Any

import httpx

from backend.kit.body_fingerprint import body_fingerprint


def multipart(boundary: str, **parts: Any) -> tuple[bytes, bytes]:
    """``(content_type, body)`` as httpx sends them: ``files`` and ``data`` as in httpx."""
    request = httpx.Request(
        "POST",
        "http://test/",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        **parts,
    )
    return request.headers["content-type"].encode(), request.read()


def fingerprint(boundary: str, **parts: Any) -> bytes:
    return body_fingerprint(*multipart(boundary, **parts))


CSV = ("stores.csv", b"code,name\nA1,One\n", "text/csv")


def test_a_multipart_body_is_known_by_its_parts_not_its_boundary() -> None:
    first = multipart("first-attempt", files={"file": CSV}, data={"note": "x"})
    second = multipart("second-attempt", files={"file": CSV}, data={"note": "x"})

    assert first[1] != second[1]
    assert body_fingerprint(*first) == body_fingerprint(*second)


def test_a_file_is_known_without_its_filename() -> None:
    renamed = ("blob", CSV[1], CSV[2])
    assert fingerprint("a", files={"file": CSV}) == fingerprint("b", files={"file": renamed})


def test_content_field_name_type_and_kind_of_part_each_count() -> None:
    base = fingerprint("a", files={"file": CSV})

    assert fingerprint("a", files={"file": (CSV[0], b"code,name\nA2,Two\n", CSV[2])}) != base
    assert fingerprint("a", files={"upload": CSV}) != base
    assert fingerprint("a", files={"file": (CSV[0], CSV[1], "text/plain")}) != base
    # The same bytes as a plain field rather than a file.
    assert fingerprint("a", data={"file": CSV[1].decode()}) != base


def test_the_order_of_parts_counts() -> None:
    one_two = fingerprint("a", files=[("f", ("a", b"1", "text/plain")), ("f", ("b", b"2", "x/y"))])
    two_one = fingerprint("a", files=[("f", ("b", b"2", "x/y")), ("f", ("a", b"1", "text/plain"))])
    assert one_two != two_one


def test_other_bodies_are_known_by_their_bytes() -> None:
    body = b'{"name": "North"}'
    assert body_fingerprint(b"application/json", body) == hashlib.sha256(body).digest()
    assert body_fingerprint(None, body) == hashlib.sha256(body).digest()
    # Multipart without a boundary, or malformed: the endpoint refuses it; the bytes will do.
    assert body_fingerprint(b"multipart/form-data", body) == hashlib.sha256(body).digest()
    garbage = b"--x\r\nnot a part"
    assert (
        body_fingerprint(b"multipart/form-data; boundary=y", garbage)
        == hashlib.sha256(garbage).digest()
    )
