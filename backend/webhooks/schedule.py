"""The retry rules of a webhook delivery (DESIGN §5), with no I/O: what an answer means and when
the next try is due.

A delivery is tried at once, then after each failure at the next step of ``RETRY_DELAYS``
(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight tries over about 32.5 h); after the last it has
failed. ``410 Gone`` disables the endpoint; ``429`` (and ``503``) with ``Retry-After`` wait as
long as the receiver asks, within bounds. An endpoint failing without a success for
``DISABLE_AFTER`` is disabled and its org's admins are told.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = timedelta(days=5)
# A receiver's Retry-After is honoured between these bounds: a 0 would make us hammer it, a week
# would keep a delivery in limbo past the whole schedule.
RETRY_AFTER_MIN = timedelta(seconds=1)
RETRY_AFTER_MAX = timedelta(hours=10)
# Answers whose Retry-After we honour (RFC 9110 gives it for 503 as well as 429).
_RETRY_AFTER_STATUSES = frozenset({429, 503})


class Outcome(StrEnum):
    succeeded = "succeeded"
    retry = "retry"  # failed; tried again at ``next_attempt_at``
    failed = "failed"  # failed for good: the schedule is spent
    gone = "gone"  # 410: the receiver wants no more; the endpoint is disabled


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    next_attempt_at: datetime | None
    disable_endpoint: bool = False


def is_success(status: int | None) -> bool:
    # 3xx is a failure: redirects are not followed (Standard Webhooks, "Delivery success").
    return status is not None and 200 <= status < 300


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as delay-seconds or an HTTP date, bounded; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    delay: timedelta
    if value.isdigit():
        delay = timedelta(seconds=min(int(value[:9]), 10**8))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT by definition
            return None
        delay = when - now
    return min(max(delay, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def judge(
    *,
    status: int | None,
    retry_after: str | None,
    attempt: int,
    now: datetime,
) -> Verdict:
    """What to do after try number ``attempt`` (1-based) answered ``status`` (None: no answer —
    a timeout, a refused connection, an address the SSRF rule refused)."""
    if is_success(status):
        return Verdict(Outcome.succeeded, None)
    if status == 410:
        return Verdict(Outcome.gone, None, disable_endpoint=True)
    if attempt >= MAX_ATTEMPTS:
        return Verdict(Outcome.failed, None)
    delay = RETRY_DELAYS[attempt - 1]
    if status in _RETRY_AFTER_STATUSES:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            delay = asked
    return Verdict(Outcome.retry, now + delay)


def failing_too_long(failing_since: datetime | None, now: datetime) -> bool:
    """Whether an endpoint that has not succeeded since ``failing_since`` is to be disabled."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
