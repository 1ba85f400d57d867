"""Store QR tokens (pure: no I/O).

A token is base64url (no padding) of 32 bytes::

    store_id (16) | qr_version (uint16, big-endian) | key_version (uint16) | mac (12)

``mac`` is a truncated HMAC-SHA256 over the org id, the store id and both versions, keyed by
``derive_key(server secret, "doorstep/qr", org.signing_secret, key_version)``. Covering the org
id means a token cannot be replayed against another organization; covering the store id and
``qr_version`` means it cannot be moved to another store and dies when the store's code is
rotated. Rotating the organization's signing secret (``signing_key_version``) retires every code
of the organization at once.

Versions are carried modulo 2**16; a store would need 65,536 rotations to wrap around.
"""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from backend.config import Settings
from backend.kit.signing import derive_key, sign, verify
from backend.models import Organization, Store

PURPOSE = "doorstep/qr"
MAC_LENGTH = 12
TOKEN_BYTES = 16 + 2 + 2 + MAC_LENGTH
TOKEN_LENGTH = 43  # base64url of 32 bytes without padding
MAX_INPUT_LENGTH = 2048
_DOMAIN = b"doorstep-qr-v1"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class QrToken:
    store_id: uuid.UUID
    qr_version: int
    key_version: int
    mac: bytes

    @property
    def signed_part(self) -> bytes:
        return (
            self.store_id.bytes
            + (self.qr_version % 65536).to_bytes(2, "big")
            + (self.key_version % 65536).to_bytes(2, "big")
        )


def _key(secret: bytes, org_signing_secret: bytes, key_version: int) -> bytes:
    return derive_key(secret, PURPOSE, org_signing_secret, (key_version % 65536).to_bytes(2, "big"))


def _message(org_id: uuid.UUID, signed_part: bytes) -> bytes:
    return _DOMAIN + org_id.bytes + signed_part


def make_token(
    secret: bytes,
    org_id: uuid.UUID,
    org_signing_secret: bytes,
    key_version: int,
    store_id: uuid.UUID,
    qr_version: int,
) -> str:
    part = QrToken(store_id, qr_version, key_version, b"").signed_part
    mac = sign(_key(secret, org_signing_secret, key_version), _message(org_id, part), MAC_LENGTH)
    return base64.urlsafe_b64encode(part + mac).rstrip(b"=").decode("ascii")


def token_for(settings: Settings, org: Organization, store: Store) -> str:
    return make_token(
        settings.secret,
        org.id,
        org.signing_secret,
        org.signing_key_version,
        store.id,
        store.qr_version,
    )


def qr_url_for(settings: Settings, org: Organization, store: Store) -> str:
    """The URL printed in the store's QR code: ``{PUBLIC_BASE_URL}/q/{token}``."""
    return f"{settings.public_base}/q/{token_for(settings, org, store)}"


def extract_token(scanned: str) -> str | None:
    """The token from what a scanner read: the bare token or a whole URL (any host) whose path
    contains ``/q/<token>``. None when the input cannot hold a token."""
    if not isinstance(scanned, str) or len(scanned) > MAX_INPUT_LENGTH:
        return None
    text = scanned.strip()
    if _TOKEN_RE.fullmatch(text):
        return text
    if "/q/" not in text:
        return None
    try:
        path = urlsplit(text).path if "://" in text else text.split("?", 1)[0].split("#", 1)[0]
    except ValueError:
        return None
    if "/q/" not in path:
        return None
    candidate = path.rsplit("/q/", 1)[1].strip("/")
    if "/" in candidate:
        candidate = candidate.rsplit("/", 1)[1]
    return candidate if _TOKEN_RE.fullmatch(candidate) else None


def parse_token(token: str) -> QrToken | None:
    """Split a well-formed token into its parts (the MAC is not checked here)."""
    if not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None  # non-canonical trailing bits: refuse rather than accept two spellings
    return QrToken(
        store_id=uuid.UUID(bytes=raw[:16]),
        qr_version=int.from_bytes(raw[16:18], "big"),
        key_version=int.from_bytes(raw[18:20], "big"),
        mac=raw[20:],
    )


def mac_is_valid(
    secret: bytes, org_id: uuid.UUID, org_signing_secret: bytes, token: QrToken
) -> bool:
    key = _key(secret, org_signing_secret, token.key_version)
    return verify(key, _message(org_id, token.signed_part), token.mac)
