"""Pure rules for next actions: the due window, overdue, and when reminders fall due.

No I/O here; every function takes ``now`` so it is tested without a clock or a database.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.actions.exceptions import ActionDueOutOfRange
from backend.models.next_action import NextActionStatus

# The "due tomorrow" reminder goes out this long before the due time.
DAY_BEFORE = timedelta(hours=24)
# How long past due an open action waits before its rep's supervisors are told. Zero: DESIGN
# asks for escalation as soon as the due time has passed and the action is still open.
ESCALATE_AFTER = timedelta(0)


@dataclass(frozen=True)
class DueWindow:
    """Allowed due times: strictly after ``earliest``, at most ``latest``."""

    earliest: datetime
    latest: datetime

    def contains(self, due_at: datetime) -> bool:
        return self.earliest < due_at <= self.latest

    def check(self, due_at: datetime) -> None:
        if not self.contains(due_at):
            raise ActionDueOutOfRange(self.earliest, self.latest)


def window_for_visit(checked_in_at: datetime, now: datetime, horizon_days: int) -> DueWindow:
    """Setting a visit's action: after now, within the horizon of the visit's check-in.

    Anchored to the check-in (not to now) so a rep cannot stretch the commitment by setting it
    late, e.g. while reworking a rejected visit days afterwards.
    """
    return DueWindow(now, checked_in_at + timedelta(days=horizon_days))


def window_for_reschedule(now: datetime, horizon_days: int) -> DueWindow:
    """Rescheduling: after now, within the horizon counted from now.

    A reschedule is a fresh, reasoned commitment (counted and shown to the supervisor), so the
    window restarts; anchoring it to the old check-in would make an overdue action impossible
    to reschedule at all.
    """
    return DueWindow(now, now + timedelta(days=horizon_days))


def is_overdue(status: NextActionStatus, due_at: datetime, now: datetime) -> bool:
    return status == NextActionStatus.open and due_at < now


@dataclass(frozen=True)
class ReminderStamps:
    reminded_24h_at: datetime | None
    reminded_due_at: datetime | None
    escalated_at: datetime | None


def stamps_for_new_due(due_at: datetime, now: datetime) -> ReminderStamps:
    """Reminder stamps for an action (re)set to ``due_at`` at ``now``.

    Everything is pending again, except the day-before reminder when the action is already
    inside its last 24 hours: the rep has just chosen that time, so "due tomorrow" would be
    noise. That one is stamped as handled right away.
    """
    inside_last_day = due_at - DAY_BEFORE <= now
    return ReminderStamps(now if inside_last_day else None, None, None)


def day_before_cutoff(now: datetime) -> datetime:
    """Open actions due at or before this (and not yet due) get the day-before reminder."""
    return now + DAY_BEFORE


def escalation_cutoff(now: datetime) -> datetime:
    """Open actions due before this are escalated."""
    return now - ESCALATE_AFTER
