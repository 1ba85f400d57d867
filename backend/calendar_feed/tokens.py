"""Calendar feed tokens (pure: no I/O).

A token is base64url (no padding) of 36 bytes, so always 48 characters::

    feed_id (16) | version (uint32, big-endian) | mac (16)

``mac`` is a truncated HMAC-SHA256 over a domain tag, the org id, the feed id, the user id and
the version, keyed by ``derive_key(server secret, "doorstep/calendar", org.signing_secret,
org.signing_key_version)``. Nothing secret is stored: the ``calendar_feeds`` row holds only the
version. Rotating the feed bumps the version, so the old token's MAC (over the old version) no
longer matches what the row says; rotating the organization's signing secret retires every feed
URL of the organization at once, as it does its QR codes and share links.

The feed id travels in the clear so the verifier knows which row (and so whose key) to load; it
is covered by the MAC, as are the org and the user, so a token can be neither moved nor forged.
Checking always runs the same HMAC and ``compare_digest``, whether or not the row exists.
"""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from typing import Final

from backend.kit.signing import derive_key, sign, verify

PURPOSE: Final = "doorstep/calendar"
MAC_LENGTH: Final = 16
TOKEN_BYTES: Final = 16 + 4 + MAC_LENGTH
TOKEN_LENGTH: Final = 48  # base64url of 36 bytes, no padding needed
_DOMAIN: Final = b"doorstep-calendar-v1"
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9_-]{48}$")
_MAX_VERSION: Final = 2**32 - 1
# Keys the check when no row matched, so a miss costs the same HMAC as a hit.
_NO_KEY: Final = b"\x00" * 32


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """What the MAC covers besides the version: whose feed it is."""

    org_id: uuid.UUID
    feed_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ParsedToken:
    feed_id: uuid.UUID
    version: int
    mac: bytes


def _key(secret: bytes, org_signing_secret: bytes, key_version: int) -> bytes:
    return derive_key(secret, PURPOSE, org_signing_secret, (key_version % 65536).to_bytes(2, "big"))


def _message(owner: FeedOwner, version: int) -> bytes:
    return (
        _DOMAIN
        + owner.org_id.bytes
        + owner.feed_id.bytes
        + owner.user_id.bytes
        + version.to_bytes(4, "big")
    )


def make_token(
    secret: bytes, org_signing_secret: bytes, key_version: int, owner: FeedOwner, version: int
) -> str:
    if not 0 < version <= _MAX_VERSION:
        raise ValueError("version is out of range")
    mac = sign(_key(secret, org_signing_secret, key_version), _message(owner, version), MAC_LENGTH)
    raw = owner.feed_id.bytes + version.to_bytes(4, "big") + mac
    return base64.urlsafe_b64encode(raw).decode("ascii")


def feed_url(public_base: str, token: str) -> str:
    """The URL handed out: ``{PUBLIC_BASE_URL}/cal/{token}.ics``."""
    return f"{public_base.rstrip('/')}/cal/{token}.ics"


def parse_token(token: str) -> ParsedToken | None:
    """Split a well-formed token into its parts (the MAC is not checked here)."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    return ParsedToken(
        feed_id=uuid.UUID(bytes=raw[:16]),
        version=int.from_bytes(raw[16:20], "big"),
        mac=raw[20:],
    )


@dataclass(frozen=True, slots=True)
class StoredFeed:
    """What the database says of the feed a token names."""

    owner: FeedOwner
    version: int
    org_signing_secret: bytes
    key_version: int


def is_genuine(secret: bytes, token: ParsedToken, stored: StoredFeed | None) -> bool:
    """Whether ``token`` is the current URL of ``stored`` (None: no such feed). The HMAC and
    the constant-time comparison run in every case; the version is compared only after."""
    if stored is None:
        key = _key(secret, _NO_KEY, 0)  # the same derivation as a real key: the same cost
        message = _message(FeedOwner(uuid.UUID(int=0), token.feed_id, uuid.UUID(int=0)), 1)
    else:
        key = _key(secret, stored.org_signing_secret, stored.key_version)
        message = _message(stored.owner, token.version)
    mac_ok = verify(key, message, token.mac)
    return mac_ok and stored is not None and token.version == stored.version
