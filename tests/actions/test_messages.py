"""The next-action notification texts have one home (``actions.messages``), pure and bilingual."""

from backend.actions import messages
from backend.actions.labels import type_label
from backend.models.next_action import NextActionType


def test_each_text_names_the_action_and_its_store_in_both_languages() -> None:
    label = type_label(NextActionType.quote)
    soon = messages.due_soon(NextActionType.quote, "华联超市")
    due = messages.due_now(NextActionType.quote, "华联超市")
    late = messages.overdue(NextActionType.quote, "华联超市", "王芳")

    assert (soon.type, due.type, late.type) == (
        "next_action.due_soon",
        "next_action.due",
        "next_action.overdue",
    )
    assert soon.title == {
        "zh": f"24 小时内到期：{label['zh']}（华联超市）",
        "en": f"Due within 24 hours: {label['en']} (华联超市)",
    }
    assert due.title["zh"] == f"已到期：{label['zh']}（华联超市）"
    assert late.title["en"] == f"Overdue: {label['en']} (华联超市)"
    assert late.body == {"zh": "王芳 的跟进事项已逾期。", "en": "王芳's next action is overdue."}
    for message in (soon, due, late):
        assert set(message.title) == set(message.body) == {"zh", "en"}


def test_without_a_store_the_label_stands_alone() -> None:
    label = type_label(NextActionType.demo)
    assert messages.what(NextActionType.demo, None) == (label["zh"], label["en"])
    assert messages.due_now(NextActionType.demo, None).title["en"] == f"Due now: {label['en']}"
