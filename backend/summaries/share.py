"""Expiring signed links to a visit's read-only summary page (pure: no I/O, no clock).

A token is base64url (no padding) of 48 bytes, so always 64 characters::

    visit_id (16) | org_id (16) | expires (uint32, Unix seconds, big-endian) | mac (12)

``mac`` is a truncated HMAC-SHA256 over a domain tag and the 36 bytes before it, keyed by
``derive_key(server secret, "doorstep/share", org.signing_secret)``. The org id travels in the
clear so the verifier knows whose key to load; it is covered by the MAC, so a token cannot be
moved to another visit or organization, nor its expiry extended. Rotating the organization's
signing secret revokes every link it has shared.

Checking a link, when the org is loaded asynchronously::

    parsed = parse_share_token(token)
    org = await load_org(parsed.org_id) if parsed else None
    status = share_status(secret, org.signing_secret if org else None, parsed, now)

or, with a synchronous lookup, :func:`read_share_token`. The expiry is only looked at once the
MAC holds, so a forged token is ``invalid``, never ``expired``.
"""

import base64
import binascii
import enum
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from backend.kit.signing import derive_key, sign, verify

PURPOSE: Final = "doorstep/share"
MAC_LENGTH: Final = 12
TOKEN_BYTES: Final = 16 + 16 + 4 + MAC_LENGTH
TOKEN_LENGTH: Final = 64  # base64url of 48 bytes, no padding needed
DEFAULT_TTL: Final = timedelta(days=7)
MAX_TTL: Final = timedelta(days=30)
_DOMAIN: Final = b"doorstep-share-v1"
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9_-]{64}$")
_MAX_EXPIRY: Final = 2**32 - 1


class ShareStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ParsedShareToken:
    visit_id: uuid.UUID
    org_id: uuid.UUID
    expires_at: datetime  # UTC, whole seconds
    mac: bytes

    @property
    def signed_part(self) -> bytes:
        return (
            self.visit_id.bytes
            + self.org_id.bytes
            + int(self.expires_at.timestamp()).to_bytes(4, "big")
        )

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True, slots=True)
class ShareCheck:
    status: ShareStatus
    token: ParsedShareToken | None  # set when the token parsed (whatever the status)

    @property
    def ok(self) -> bool:
        return self.status is ShareStatus.VALID


def _key(secret: bytes, org_signing_secret: bytes) -> bytes:
    return derive_key(secret, PURPOSE, org_signing_secret)


def _expiry_seconds(expires_at: datetime) -> int:
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    seconds = int(expires_at.timestamp())  # truncates: a link never outlives what was asked
    if not 0 < seconds <= _MAX_EXPIRY:
        raise ValueError("expires_at is out of range")
    return seconds


def make_share_token(
    secret: bytes,
    org_id: uuid.UUID,
    org_signing_secret: bytes,
    visit_id: uuid.UUID,
    expires_at: datetime,
) -> str:
    """A link token for ``visit_id`` valid until ``expires_at`` (aware; whole seconds)."""
    expires = datetime.fromtimestamp(_expiry_seconds(expires_at), UTC)
    part = ParsedShareToken(visit_id, org_id, expires, b"").signed_part
    mac = sign(_key(secret, org_signing_secret), _DOMAIN + part, MAC_LENGTH)
    return base64.urlsafe_b64encode(part + mac).decode("ascii")


def share_expiry(now: datetime, ttl: timedelta | None = None) -> datetime:
    """When a link made at ``now`` expires: ``ttl`` (default 7 days) clamped to (0, 30 days]."""
    ttl = DEFAULT_TTL if ttl is None else ttl
    ttl = min(max(ttl, timedelta(seconds=1)), MAX_TTL)
    return now + ttl


def share_url(public_base: str, token: str) -> str:
    """The link handed out: ``{PUBLIC_BASE_URL}/s/{token}``."""
    return f"{public_base.rstrip('/')}/s/{token}"


def parse_share_token(token: str) -> ParsedShareToken | None:
    """Split a well-formed token into its parts (the MAC is not checked here)."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    seconds = int.from_bytes(raw[32:36], "big")
    return ParsedShareToken(
        visit_id=uuid.UUID(bytes=raw[:16]),
        org_id=uuid.UUID(bytes=raw[16:32]),
        expires_at=datetime.fromtimestamp(seconds, UTC),
        mac=raw[36:],
    )


def verify_share_token(secret: bytes, org_signing_secret: bytes, parsed: ParsedShareToken) -> bool:
    """Whether the MAC holds under the organization's key (expiry not considered)."""
    return verify(_key(secret, org_signing_secret), _DOMAIN + parsed.signed_part, parsed.mac)


def share_status(
    secret: bytes,
    org_signing_secret: bytes | None,
    parsed: ParsedShareToken | None,
    now: datetime,
) -> ShareStatus:
    """``invalid`` (unparseable, unknown org, bad MAC), ``expired`` or ``valid``."""
    if parsed is None or org_signing_secret is None:
        return ShareStatus.INVALID
    if not verify_share_token(secret, org_signing_secret, parsed):
        return ShareStatus.INVALID
    return ShareStatus.EXPIRED if parsed.is_expired(now) else ShareStatus.VALID


def read_share_token(
    secret: bytes,
    token: str,
    org_lookup: Callable[[uuid.UUID], bytes | None],
    *,
    now: datetime,
) -> ShareCheck:
    """Parse and check a token; ``org_lookup`` maps an org id to its signing secret (or None)."""
    parsed = parse_share_token(token)
    org_secret = org_lookup(parsed.org_id) if parsed is not None else None
    return ShareCheck(share_status(secret, org_secret, parsed, now), parsed)
