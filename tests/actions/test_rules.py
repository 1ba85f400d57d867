from datetime import UTC, datetime, timedelta

import pytest

from backend.actions import rules
from backend.actions.exceptions import ActionDueOutOfRange
from backend.models.next_action import NextActionStatus

CHECKED_IN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = CHECKED_IN + timedelta(minutes=20)


@pytest.mark.parametrize(
    ("due", "ok"),
    [
        (CHECKED_IN + timedelta(days=6, hours=23), True),
        (CHECKED_IN + timedelta(days=7), True),
        (CHECKED_IN + timedelta(days=7, seconds=1), False),
        (NOW + timedelta(seconds=1), True),
        (NOW, False),
        (NOW - timedelta(seconds=1), False),
        (CHECKED_IN, False),
    ],
)
def test_visit_window_edges(due: datetime, ok: bool) -> None:
    assert rules.window_for_visit(CHECKED_IN, NOW, 7).contains(due) is ok


def test_visit_window_is_anchored_to_check_in_not_now() -> None:
    later = CHECKED_IN + timedelta(days=3)
    window = rules.window_for_visit(CHECKED_IN, later, 7)
    assert window.latest == CHECKED_IN + timedelta(days=7)
    assert not window.contains(later + timedelta(days=5))


def test_check_raises_with_the_window() -> None:
    window = rules.window_for_visit(CHECKED_IN, NOW, 7)
    with pytest.raises(ActionDueOutOfRange) as caught:
        window.check(CHECKED_IN + timedelta(days=8))
    assert caught.value.extra == {
        "earliest": "2026-03-02T09:20:00Z",
        "latest": "2026-03-09T09:00:00Z",
    }


def test_reschedule_window_counts_from_now() -> None:
    much_later = CHECKED_IN + timedelta(days=10)
    window = rules.window_for_reschedule(much_later, 7)
    assert window.contains(much_later + timedelta(days=7))
    assert not window.contains(much_later + timedelta(days=7, seconds=1))
    assert not window.contains(much_later)


def test_overdue_only_when_open_and_past_due() -> None:
    due = NOW
    assert rules.is_overdue(NextActionStatus.open, due, NOW + timedelta(seconds=1))
    assert not rules.is_overdue(NextActionStatus.open, due, NOW)
    assert not rules.is_overdue(NextActionStatus.done, due, NOW + timedelta(days=1))


def test_day_before_reminder_is_pending_unless_already_inside_the_last_day() -> None:
    far = rules.stamps_for_new_due(NOW + timedelta(hours=25), NOW)
    assert far == rules.ReminderStamps(None, None, None)
    near = rules.stamps_for_new_due(NOW + timedelta(hours=23), NOW)
    assert near == rules.ReminderStamps(NOW, None, None)
