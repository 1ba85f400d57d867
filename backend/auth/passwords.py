"""Password hashing with argon2id at the OWASP parameters (19 MiB, t=2, p=1).

Hashing takes tens of milliseconds of CPU, so it runs in a worker thread, off the event loop.
"""

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("doorstep-timing-equaliser")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        await anyio.to_thread.run_sync(_verify, _DUMMY_HASH, password)
        return False
    return await anyio.to_thread.run_sync(_verify, password_hash, password)
