"""What each feed entry says, in the reader's language (pure: no I/O).

A summary reads like the line a rep writes in their own follow-up list: ``送样品 · 益丰大药房
（文三路店）`` / ``Send a sample · <store>``, ``整改 · 价签清晰准确 · <store>`` / ``Fix: Price
tags clear and correct · <store>``. In a supervisor's (or admin's) feed, an entry of someone else
ends with whose it is (`` · 张三``), since the whole team's commitments share one calendar.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from backend.actions.labels import type_label
from backend.calendar_feed.ics import FeedEvent

Lang = Literal["zh", "en"]

_CALENDAR_NAMES: Final[dict[bool, dict[Lang, str]]] = {
    False: {"zh": "Doorstep · 我的待办", "en": "Doorstep · My follow-ups"},
    True: {"zh": "Doorstep · 团队待办", "en": "Doorstep · Team follow-ups"},
}
_FIX: Final[dict[Lang, str]] = {"zh": "整改", "en": "Fix"}
_CRITICAL: Final[dict[Lang, str]] = {"zh": "关键项", "en": "Critical item"}
_REOPENED: Final[dict[Lang, str]] = {"zh": "已退回重做：{reason}", "en": "Reopened: {reason}"}
_OPEN_IN_APP: Final[dict[Lang, str]] = {
    "zh": "在 Doorstep 中打开：{url}",
    "en": "Open in Doorstep: {url}",
}


def lang_of(locale: str) -> Lang:
    """The language of a user's ``locale`` ("zh-CN" or "en")."""
    return "en" if locale.lower().startswith("en") else "zh"


def calendar_name(lang: Lang, *, team: bool) -> str:
    return _CALENDAR_NAMES[team][lang]


def action_uid(action_id: uuid.UUID) -> str:
    return f"next-action-{action_id}@doorstep"


def rectification_uid(rect_id: uuid.UUID) -> str:
    return f"rectification-{rect_id}@doorstep"


def action_url(public_base: str, visit_id: uuid.UUID) -> str:
    # The PWA has no screen of its own for a next action: it belongs to its visit, and
    # /visit/{id} opens for every role (a rep's visit screen, a manager's review).
    return f"{public_base.rstrip('/')}/visit/{visit_id}"


def rectification_url(public_base: str, rect_id: uuid.UUID) -> str:
    return f"{public_base.rstrip('/')}/rectifications/{rect_id}"


@dataclass(frozen=True, slots=True)
class ActionEntry:
    id: uuid.UUID
    visit_id: uuid.UUID
    type: str
    due_at: datetime
    note: str
    reschedule_count: int
    updated_at: datetime
    store_name: str
    assignee_name: str | None  # None: the reader's own


@dataclass(frozen=True, slots=True)
class RectificationEntry:
    id: uuid.UUID
    title: dict[str, str]
    critical: bool
    due_at: datetime
    note: str
    reopens: int
    reopen_reason: str | None  # the latest reopen's, while the task is reopened
    last_modified: datetime
    store_name: str
    assignee_name: str | None  # None: the reader's own


def _joined(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)


def _description(lang: Lang, url: str, *lines: str | None) -> str:
    return "\n".join([*(line for line in lines if line), _OPEN_IN_APP[lang].format(url=url)])


def action_event(entry: ActionEntry, lang: Lang, public_base: str) -> FeedEvent:
    """A next action; ``SEQUENCE`` is its reschedule count, so each move supersedes the last."""
    url = action_url(public_base, entry.visit_id)
    what = type_label(entry.type)[lang]
    return FeedEvent(
        uid=action_uid(entry.id),
        due_at=entry.due_at,
        summary=_joined(what, entry.store_name, entry.assignee_name),
        description=_description(lang, url, entry.note),
        url=url,
        sequence=entry.reschedule_count,
        last_modified=entry.updated_at,
    )


def rectification_event(entry: RectificationEntry, lang: Lang, public_base: str) -> FeedEvent:
    """A rectification owed; ``SEQUENCE`` is the number of reopens: a reopen is the only thing
    that moves its due time (and it hands the task back, which a calendar should show anew)."""
    url = rectification_url(public_base, entry.id)
    title = entry.title.get(lang) or entry.title.get("zh") or entry.title.get("en") or ""
    summary_head = f"{_FIX[lang]}: {title}" if lang == "en" else _joined(_FIX[lang], title)
    reopened = _REOPENED[lang].format(reason=entry.reopen_reason) if entry.reopen_reason else None
    return FeedEvent(
        uid=rectification_uid(entry.id),
        due_at=entry.due_at,
        summary=_joined(summary_head, entry.store_name, entry.assignee_name),
        description=_description(
            lang, url, _CRITICAL[lang] if entry.critical else None, entry.note, reopened
        ),
        url=url,
        sequence=entry.reopens,
        last_modified=entry.last_modified,
    )
