"""Access tokens (short JWTs) and refresh tokens (opaque, stored hashed).

A refresh token carries its organization so it can be found by ``(org_id, hash)`` without a
cross-tenant lookup: ``dsr_`` + base64url(org id (16 bytes) + 32 random bytes).
"""

import base64
import binascii
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import jwt

from backend.auth.principal import Principal
from backend.kit.signing import derive_key
from backend.models.user import Role

ALGORITHM = "HS256"
REFRESH_PREFIX = "dsr_"


def _jwt_key(secret: bytes) -> bytes:
    return derive_key(secret, "doorstep/access-token")


def issue_access_token(secret: bytes, principal: Principal, now: datetime, ttl_s: int) -> str:
    claims = {
        "sub": str(principal.user_id),
        "org": str(principal.org_id),
        "role": principal.role.value,
        "ep": principal.access_epoch,
        "typ": "access",
        # Unique per issue: two tokens issued in the same second are still different tokens.
        "jti": secrets.token_urlsafe(12),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, _jwt_key(secret), algorithm=ALGORITHM)


def read_access_token(secret: bytes, token: str) -> Principal | None:
    try:
        claims = jwt.decode(
            token,
            _jwt_key(secret),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "org", "role", "ep", "exp", "typ"]},
        )
        if claims["typ"] != "access" or type(claims["ep"]) is not int:
            return None
        return Principal(
            uuid.UUID(claims["sub"]), uuid.UUID(claims["org"]), Role(claims["role"]), claims["ep"]
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None


def new_refresh_token(org_id: uuid.UUID) -> str:
    raw = org_id.bytes + secrets.token_bytes(32)
    return REFRESH_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_refresh_token(token: str) -> tuple[uuid.UUID, bytes] | None:
    """The organization and the SHA-256 of a well-formed refresh token, else None."""
    if not token.startswith(REFRESH_PREFIX) or len(token) > 100:
        return None
    body = token[len(REFRESH_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 48:
        return None
    return uuid.UUID(bytes=raw[:16]), hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
