"""Lockout policy for failed logins (pure): how long an account waits after N failures."""

from datetime import datetime, timedelta

FAILURE_WINDOW = timedelta(minutes=15)


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
