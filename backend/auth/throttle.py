"""Lockout policy for failed logins (pure): how long a key waits after N failures.

Two kinds of key share the ``login_throttles`` table: an account (the normalised username, as
typed: unknown names are throttled like real ones) and a client address (``ip:...``). A name
with a ``:`` (no username has one) or too long for the column is keyed by its hash under
``name:``, so no login form can land on an address's row.
"""

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.kit.client_ip import IPAddress

FAILURE_WINDOW = timedelta(minutes=15)

KEY_MAX_LENGTH = 64  # login_throttles.username
# One subscriber gets a whole IPv6 /64, so that is what counts as one address.
IPV6_PREFIX = 64


def account_key(username: str) -> str:
    """The row of a (normalised) username: itself, or ``name:<sha256>`` if it cannot be one."""
    if ":" not in username and len(username) <= KEY_MAX_LENGTH:
        return username
    return "name:" + hashlib.sha256(username.encode()).hexdigest()[:48]


def address_key(address: IPAddress) -> str:
    """The row of a client address: ``ip:203.0.113.7``, or ``ip:2001:db8:1:2::/64``."""
    if address.version == 6:
        return f"ip:{ipaddress.ip_network((address, IPV6_PREFIX), strict=False)}"
    return f"ip:{address}"


def lockout_seconds(failures: int, max_failures: int, base_s: int, max_s: int) -> int:
    """No lock below the limit; then base, doubled for each further failure, capped."""
    if failures < max_failures:
        return 0
    doublings: int = min(failures - max_failures, 30)
    return min(max_s, base_s * (1 << doublings))


def retry_after(locked_until: datetime | None, now: datetime) -> int:
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, int((locked_until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class Policy:
    max_failures: int
    lockout_base_s: int
    lockout_max_s: int


@dataclass(frozen=True)
class Counter:
    """A key's row: attempts counted in the current window, the latest one, and any lock."""

    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


def count_attempt(current: Counter | None, now: datetime, policy: Policy) -> Counter | int:
    """Count an attempt before its password is verified: the new counter, or (an int) the
    seconds to wait when the key is locked, in which case nothing is counted.

    An attempt counts as a failure until it succeeds (then :func:`refund`). The attempt that
    reaches the limit sets the lock itself, so attempts racing it are refused at once instead
    of being verified; after a lock expires, one more attempt is let through, which locks for
    twice as long. A quiet window (no attempt for :data:`FAILURE_WINDOW`) starts from zero.

    Attempts queue on the key's row after reading the clock, so ``now`` may be a little older
    than the attempt counted before it: a key's time never runs backwards.
    """
    failures = 1
    if current is not None:
        now = max(now, current.last_failure_at)
        wait = retry_after(current.locked_until, now)
        if wait:
            return wait
        if current.last_failure_at >= now - FAILURE_WINDOW:
            failures = current.failures + 1
    lock_s = lockout_seconds(
        failures, policy.max_failures, policy.lockout_base_s, policy.lockout_max_s
    )
    return Counter(failures, now, now + timedelta(seconds=lock_s) if lock_s else None)


def refund(
    current: Counter, before: Counter | None, counted: Counter, policy: Policy, now: datetime
) -> Counter | None:
    """Take back a counted attempt that succeeded. ``before`` and ``counted`` are the counter as
    that attempt found it and left it; ``current`` is what it is now. ``None``: drop the row.

    If nothing was counted since, the counter goes back to what the attempt found (so successes
    neither add failures nor keep old ones alive); otherwise one is taken off, and a lock stays
    only while the failures still reach the limit."""
    if current == counted:
        if before is None or (
            before.last_failure_at < now - FAILURE_WINDOW
            and not retry_after(before.locked_until, now)
        ):
            return None
        return before
    failures = current.failures - 1
    if failures <= 0:
        return None
    locked_until = current.locked_until if failures >= policy.max_failures else None
    return Counter(failures, current.last_failure_at, locked_until)
