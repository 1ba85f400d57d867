"""What the next-action reminders and escalations say, in both languages: the one home of these
texts, used by the jobs (``service.remind_*``, ``service.escalate_overdue``) and by anything
that must send the same notification at a simulated time (the demo seed).

Pure: no I/O, no clock.
"""

from dataclasses import dataclass

from backend.actions.labels import type_label

# Notification types.
DUE_SOON = "next_action.due_soon"
DUE = "next_action.due"
OVERDUE = "next_action.overdue"


@dataclass(frozen=True)
class Message:
    """A notification's type and its ``{"zh", "en"}`` title and body."""

    type: str
    title: dict[str, str]
    body: dict[str, str]


def what(action_type: str, store_name: str | None) -> tuple[str, str]:
    """The action's label with its store, (zh, en): ``送样品（华联超市）``."""
    label = type_label(action_type)
    zh, en = label["zh"], label["en"]
    if store_name is None:
        return zh, en
    return f"{zh}（{store_name}）", f"{en} ({store_name})"


def due_soon(action_type: str, store_name: str | None) -> Message:
    """To the assignee, as the action enters its last 24 hours."""
    zh, en = what(action_type, store_name)
    return Message(
        DUE_SOON,
        {"zh": f"24 小时内到期：{zh}", "en": f"Due within 24 hours: {en}"},
        {
            "zh": "请按时完成，或说明原因后改期。",
            "en": "Complete it on time, or reschedule it with a reason.",
        },
    )


def due_now(action_type: str, store_name: str | None) -> Message:
    """To the assignee, when the due time has come."""
    zh, en = what(action_type, store_name)
    return Message(
        DUE,
        {"zh": f"已到期：{zh}", "en": f"Due now: {en}"},
        {
            "zh": "请完成此事项，或说明原因后改期。",
            "en": "Complete it now, or reschedule it with a reason.",
        },
    )


def overdue(action_type: str, store_name: str | None, rep_name: str) -> Message:
    """To the supervisors (or admins) of the assignee, once the action is past due."""
    zh, en = what(action_type, store_name)
    return Message(
        OVERDUE,
        {"zh": f"逾期未完成：{zh}", "en": f"Overdue: {en}"},
        {"zh": f"{rep_name} 的跟进事项已逾期。", "en": f"{rep_name}'s next action is overdue."},
    )
