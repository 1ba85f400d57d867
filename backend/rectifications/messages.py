"""What rectification notifications say, in both languages: the one home of these texts, used
by the service (raised, submitted, verified, reopened), the jobs (reminders, escalation) and
anything that must send the same notification at a simulated time (the demo seed).

Pure: no I/O, no clock.
"""

from dataclasses import dataclass

# Notification types.
CREATED = "rectification.created"
SUBMITTED = "rectification.submitted"
VERIFIED = "rectification.verified"
REOPENED = "rectification.reopened"
DUE_SOON = "rectification.due_soon"
DUE = "rectification.due"
OVERDUE = "rectification.overdue"


@dataclass(frozen=True)
class Message:
    """A notification's type and its ``{"zh", "en"}`` title and body."""

    type: str
    title: dict[str, str]
    body: dict[str, str]


def what(title: dict[str, str], store_name: str | None) -> tuple[str, str]:
    """The item's title with its store, (zh, en): ``价签清晰准确（华联超市）``."""
    zh = title.get("zh") or title.get("en") or ""
    en = title.get("en") or title.get("zh") or ""
    if store_name is None:
        return zh, en
    return f"{zh}（{store_name}）", f"{en} ({store_name})"


def created(title: dict[str, str], store_name: str | None, critical: bool) -> Message:
    """To the assignee, when an audit raises the task."""
    zh, en = what(title, store_name)
    mark_zh, mark_en = ("【关键项】", "[critical] ") if critical else ("", "")
    return Message(
        CREATED,
        {"zh": f"新的整改任务：{mark_zh}{zh}", "en": f"New rectification: {mark_en}{en}"},
        {
            "zh": "请到店整改，并在到店拜访中拍摄整改后照片提交。",
            "en": "Fix it at the store and take the after photo during a visit there.",
        },
    )


def submitted(title: dict[str, str], store_name: str | None, rep_name: str) -> Message:
    """To the auditor and the supervisors of the store's team, when the fix is submitted."""
    zh, en = what(title, store_name)
    return Message(
        SUBMITTED,
        {"zh": f"整改待验收：{zh}", "en": f"Rectification to verify: {en}"},
        {
            "zh": f"{rep_name} 已提交整改，请对照整改前后照片验收或退回。",
            "en": f"{rep_name} submitted the fix; compare before and after, then verify or "
            "reopen it.",
        },
    )


def verified(title: dict[str, str], store_name: str | None) -> Message:
    """To the assignee, when the fix is accepted."""
    zh, en = what(title, store_name)
    return Message(
        VERIFIED,
        {"zh": f"整改已验收：{zh}", "en": f"Rectification verified: {en}"},
        {"zh": "整改已通过验收，谢谢。", "en": "The fix was accepted. Thank you."},
    )


def reopened(title: dict[str, str], store_name: str | None, reason: str) -> Message:
    """To the assignee, when the fix is handed back (with the reason)."""
    zh, en = what(title, store_name)
    return Message(
        REOPENED,
        {"zh": f"整改被退回：{zh}", "en": f"Rectification reopened: {en}"},
        {
            "zh": f"退回原因：{reason}。请再次到店整改并重新拍照。",
            "en": f"Reason: {reason}. Fix it again at the store and take a new after photo.",
        },
    )


def due_soon(title: dict[str, str], store_name: str | None) -> Message:
    """To the assignee, as the task enters its last 24 hours."""
    zh, en = what(title, store_name)
    return Message(
        DUE_SOON,
        {"zh": f"整改 24 小时内到期：{zh}", "en": f"Rectification due within 24 hours: {en}"},
        {
            "zh": "请尽快到店整改并提交整改后照片。",
            "en": "Fix it at the store soon and submit the after photo.",
        },
    )


def due_now(title: dict[str, str], store_name: str | None) -> Message:
    """To the assignee, when the due time has come."""
    zh, en = what(title, store_name)
    return Message(
        DUE,
        {"zh": f"整改已到期：{zh}", "en": f"Rectification due now: {en}"},
        {
            "zh": "整改已到期，请立即到店处理。",
            "en": "The rectification is due; fix it at the store now.",
        },
    )


def overdue(title: dict[str, str], store_name: str | None, rep_name: str) -> Message:
    """To the supervisors of the store's team and the auditor (or the admins), once past due."""
    zh, en = what(title, store_name)
    return Message(
        OVERDUE,
        {"zh": f"整改逾期：{zh}", "en": f"Rectification overdue: {en}"},
        {
            "zh": f"{rep_name} 的整改任务已逾期未完成。",
            "en": f"{rep_name}'s rectification is overdue.",
        },
    )
