"""Pure rules for rectifications: overdue, the due time a reopen gives, when reminders fall due.

No I/O here; every function takes ``now`` so it is tested without a clock or a database.
"""

from datetime import datetime, timedelta

from backend.models.rectification import OWED, RectificationStatus

# The "due within 24 h" reminder goes out this long before the due time.
DAY_BEFORE = timedelta(hours=24)
# Escalated as soon as the due time has passed and the fix is still owed (as next actions).
ESCALATE_AFTER = timedelta(0)
# A reopened task gets at least this long again: the rep must go back to the store, and the
# reminders must have a day before the due time to fire in. Critical items keep the shorter
# deadline audits give them (DESIGN: 2 days critical, 7 others; a redo is quicker than a first
# fix, hence 3 days rather than 7).
REOPEN_GRACE_CRITICAL = timedelta(days=2)
REOPEN_GRACE = timedelta(days=3)


def is_owed(status: RectificationStatus) -> bool:
    return status in OWED


def is_overdue(status: RectificationStatus, due_at: datetime, now: datetime) -> bool:
    return is_owed(status) and due_at < now


def due_after_reopen(due_at: datetime, critical: bool, now: datetime) -> datetime:
    """The current due time, or ``now`` plus the grace when that comes later: a reopen never
    shortens the deadline, and never hands back a task that is already overdue."""
    grace = REOPEN_GRACE_CRITICAL if critical else REOPEN_GRACE
    return max(due_at, now + grace)


def photo_counts(taken_at: datetime, reopened_at: datetime | None) -> bool:
    """An after photo proves the fix only if it was taken after the last reopen."""
    return reopened_at is None or taken_at > reopened_at


def day_before_cutoff(now: datetime) -> datetime:
    """Owed tasks due at or before this (and not yet due) get the day-before reminder."""
    return now + DAY_BEFORE


def escalation_cutoff(now: datetime) -> datetime:
    """Owed tasks due before this are escalated."""
    return now - ESCALATE_AFTER
