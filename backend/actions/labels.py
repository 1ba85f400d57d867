"""The next-action types' names in Chinese and English: the one set that the summary card (and
with it the share page and the card image), the reminders and escalations, the demo seed and,
through ``GET /api/v1/config``, the PWA all show.

The terms are the ones a Chinese field-sales team writes in its own follow-up lists: 送样品,
报价, 产品演示, 电话回访, 其他.
"""

from collections.abc import Mapping
from typing import Final

from backend.models.next_action import NextActionType

Label = Mapping[str, str]
"""``{"zh": ..., "en": ...}``."""

ACTION_TYPE_LABELS: Final[Mapping[str, Label]] = {
    NextActionType.send_sample: {"zh": "送样品", "en": "Send a sample"},
    NextActionType.quote: {"zh": "报价", "en": "Send a quote"},
    NextActionType.demo: {"zh": "产品演示", "en": "Product demo"},
    NextActionType.follow_up_call: {"zh": "电话回访", "en": "Follow-up call"},
    NextActionType.other: {"zh": "其他", "en": "Other"},
}


def type_label(type: str) -> dict[str, str]:
    """A type's label; a type this release does not know (a later one's) reads as itself."""
    return dict(ACTION_TYPE_LABELS.get(type) or {"zh": type, "en": type})


def action_types() -> list[tuple[str, dict[str, str]]]:
    """Every type with its label, in the order a picker offers them."""
    return [(kind.value, type_label(kind)) for kind in NextActionType]
