"""Keyed signatures derived from the server secret, one sub-key per purpose."""

import hashlib
import hmac


def derive_key(secret: bytes, purpose: str, *context: bytes) -> bytes:
    """A sub-key for one purpose (and optional context such as an org secret and version)."""
    mac = hmac.new(secret, purpose.encode(), hashlib.sha256)
    for part in context:
        mac.update(len(part).to_bytes(2, "big"))
        mac.update(part)
    return mac.digest()


def sign(key: bytes, message: bytes, length: int = 32) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()[:length]


def verify(key: bytes, message: bytes, signature: bytes) -> bool:
    return hmac.compare_digest(sign(key, message, len(signature)), signature)
