import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.summaries.share import (
    MAX_TTL,
    TOKEN_LENGTH,
    ShareStatus,
    make_share_token,
    parse_share_token,
    read_share_token,
    share_expiry,
    share_status,
    share_url,
    verify_share_token,
)

SECRET = b"server-secret"
ORG = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER_ORG = uuid.UUID("22222222-2222-4222-8222-222222222222")
ORG_SECRET = b"org-signing-secret"
OTHER_SECRET = b"other-org-secret"
VISIT = uuid.UUID("33333333-3333-4333-8333-333333333333")
NOW = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)


def lookup(org_id: uuid.UUID) -> bytes | None:
    return {ORG: ORG_SECRET, OTHER_ORG: OTHER_SECRET}.get(org_id)


def token() -> str:
    return make_share_token(SECRET, ORG, ORG_SECRET, VISIT, EXPIRES)


def test_valid_round_trip() -> None:
    text = token()
    assert len(text) == TOKEN_LENGTH
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    check = read_share_token(SECRET, text, lookup, now=NOW)
    assert check.status is ShareStatus.VALID and check.ok
    assert check.token is not None
    assert check.token.visit_id == VISIT
    assert check.token.org_id == ORG
    assert check.token.expires_at == EXPIRES
    assert text == token()  # deterministic


def test_expired_is_distinct_from_invalid() -> None:
    text = token()
    assert read_share_token(SECRET, text, lookup, now=EXPIRES - timedelta(seconds=1)).ok
    at_expiry = read_share_token(SECRET, text, lookup, now=EXPIRES)
    assert at_expiry.status is ShareStatus.EXPIRED
    assert at_expiry.token is not None and at_expiry.token.visit_id == VISIT
    later = read_share_token(SECRET, text, lookup, now=EXPIRES + timedelta(days=400))
    assert later.status is ShareStatus.EXPIRED


def _flip(text: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(text))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("index", [0, 15, 16, 31, 32, 35, 36, 47])  # visit, org, expiry, mac
def test_tampered_bytes_are_invalid(index: int) -> None:
    tampered = _flip(token(), index)
    check = read_share_token(SECRET, tampered, lookup, now=NOW)
    assert check.status is ShareStatus.INVALID
    # even once long past an expiry it claims, a forgery is invalid, never "expired"
    assert read_share_token(SECRET, tampered, lookup, now=NOW + timedelta(days=10_000)).status is (
        ShareStatus.INVALID
    )


def test_extended_expiry_is_invalid() -> None:
    raw = bytearray(base64.urlsafe_b64decode(token()))
    raw[32:36] = (int(EXPIRES.timestamp()) + 86400 * 30).to_bytes(4, "big")
    forged = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert read_share_token(SECRET, forged, lookup, now=NOW).status is ShareStatus.INVALID


def test_moved_to_another_visit_or_org_is_invalid() -> None:
    raw = bytearray(base64.urlsafe_b64decode(token()))
    raw[:16] = uuid.uuid4().bytes
    other_visit = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert read_share_token(SECRET, other_visit, lookup, now=NOW).status is ShareStatus.INVALID
    raw = bytearray(base64.urlsafe_b64decode(token()))
    raw[16:32] = OTHER_ORG.bytes
    other_org = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert read_share_token(SECRET, other_org, lookup, now=NOW).status is ShareStatus.INVALID


def test_other_orgs_key_and_rotation() -> None:
    signed_by_other = make_share_token(SECRET, ORG, OTHER_SECRET, VISIT, EXPIRES)
    assert read_share_token(SECRET, signed_by_other, lookup, now=NOW).status is ShareStatus.INVALID
    parsed = parse_share_token(token())
    assert parsed is not None
    assert verify_share_token(SECRET, ORG_SECRET, parsed)
    assert not verify_share_token(SECRET, b"rotated-org-secret", parsed)  # rotation revokes
    assert not verify_share_token(b"another-server", ORG_SECRET, parsed)
    assert share_status(SECRET, None, parsed, NOW) is ShareStatus.INVALID  # unknown org


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "x" * 63,
        "x" * 65,
        "!" * 64,
        "=" * 64,
        "é" * 64,
        "A" * 63 + "\x00",
        " " + "A" * 63,
        "A" * 10_000,
        "../../etc/passwd",
    ],
)
def test_garbage_is_invalid(garbage: str) -> None:
    check = read_share_token(SECRET, garbage, lookup, now=NOW)
    assert check.status is ShareStatus.INVALID
    assert check.token is None


def test_truncated_and_padded_are_invalid() -> None:
    text = token()
    for cut in (text[:-1], text[:-4], text[:43], text + "A", text + "=="):
        assert read_share_token(SECRET, cut, lookup, now=NOW).status is ShareStatus.INVALID


def test_all_zero_well_formed_token_is_invalid() -> None:
    zero = base64.urlsafe_b64encode(bytes(48)).decode()
    check = read_share_token(SECRET, zero, lambda _: ORG_SECRET, now=NOW)
    assert check.status is ShareStatus.INVALID


def test_expiry_must_be_aware_and_in_range() -> None:
    with pytest.raises(ValueError, match="aware"):
        make_share_token(SECRET, ORG, ORG_SECRET, VISIT, EXPIRES.replace(tzinfo=None))
    with pytest.raises(ValueError, match="range"):
        make_share_token(SECRET, ORG, ORG_SECRET, VISIT, datetime(2200, 1, 1, tzinfo=UTC))
    fractional = make_share_token(
        SECRET, ORG, ORG_SECRET, VISIT, EXPIRES + timedelta(microseconds=999_999)
    )
    parsed = parse_share_token(fractional)
    assert parsed is not None and parsed.expires_at == EXPIRES  # truncated, never extended


def test_expiry_and_url_helpers() -> None:
    assert share_expiry(NOW) == NOW + timedelta(days=7)
    assert share_expiry(NOW, timedelta(days=365)) == NOW + MAX_TTL
    assert share_expiry(NOW, timedelta(seconds=-5)) == NOW + timedelta(seconds=1)
    assert share_url("https://d.example/", "tok") == "https://d.example/s/tok"
