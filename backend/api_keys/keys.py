"""The key itself: ``dsk_`` + the row's id (32 hex) + 43 characters of base64url (32 random
bytes). Pure: no I/O.

The id in the key finds the row by primary key (one indexed read, no index on the hash); the
row keeps only ``HMAC-SHA256(pepper, key)``, compared in constant time. A fast keyed hash is right
here, unlike for passwords: the secret half is 256 random bits, so there is nothing to guess and
no dictionary to try, and a slow hash (argon2, tens of milliseconds) would only slow every API
request down. The pepper is derived from the server secret and never stored: a leaked
``api_keys`` table alone cannot even check a candidate key.
"""

import hashlib
import hmac
import re
import secrets
import uuid
from functools import cache
from typing import Final

from backend.kit.signing import derive_key

KEY_PREFIX: Final = "dsk_"
# ``dsk_`` + 8 hex of the id: enough to tell keys apart in a list, nothing secret.
SHOWN_PREFIX_LENGTH: Final = 12
SECRET_BYTES: Final = 32
_KEY_SHAPE: Final = re.compile(r"^dsk_([0-9a-f]{32})[A-Za-z0-9_-]{43}$")


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as an API key (else it is a user's access token)."""
    return token.startswith(KEY_PREFIX)


def new_key(key_id: uuid.UUID) -> str:
    return KEY_PREFIX + key_id.hex + secrets.token_urlsafe(SECRET_BYTES)


def shown_prefix(key: str) -> str:
    return key[:SHOWN_PREFIX_LENGTH]


def key_id_of(key: str) -> uuid.UUID | None:
    """The row id a well-formed key carries; None for anything else."""
    match = _KEY_SHAPE.match(key)
    return uuid.UUID(hex=match.group(1)) if match else None


@cache
def _pepper(secret: bytes) -> bytes:
    return derive_key(secret, "doorstep/api-key")


def key_hash(secret: bytes, key: str) -> bytes:
    return hmac.new(_pepper(secret), key.encode(), hashlib.sha256).digest()


def matches(secret: bytes, key: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(key_hash(secret, key), stored_hash)
