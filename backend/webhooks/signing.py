"""Standard Webhooks signatures (spec/standard-webhooks.md, "Signature scheme").

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the base64 text
after ``whsec_``; the header value is ``v1,<base64 HMAC-SHA256>``, several space-separated while
a rotated secret still signs beside the new one.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# The spec allows 24 to 64 bytes; 32 is the HMAC-SHA256 block's natural key size.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one entry per secret that still signs, newest first."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)
