"""Checklist rules (pure): what pydantic refuses, what the cross-item rules find (with pointers
into ``{items}``), and the frozen run-time form of a published version."""

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from backend.audits.checklist import (
    MAX_ITEMS,
    Bilingual,
    ChecklistInput,
    checklist_from_input,
    checklist_from_stored,
    checklist_problems,
    checklist_read,
    stored_items,
)


def item(key: str, kind: str = "check", **extra: Any) -> dict[str, Any]:
    section = extra.pop("section", {"zh": "陈列", "en": "Display"})
    return {
        "key": key,
        "section": section,
        "label": {"zh": f"项目 {key}", "en": f"Item {key}"},
        "kind": kind,
        **extra,
    }


def parse_errors(*items: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems pydantic finds (types, syntax, caps), as (pointer, error type)."""
    with pytest.raises(ValidationError) as caught:
        ChecklistInput.model_validate({"items": list(items)})
    return [
        ("/" + "/".join(str(p) for p in error["loc"]), error["type"])
        for error in caught.value.errors()
    ]


def rule_errors(*items: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems the cross-item rules find, as (pointer, code)."""
    parsed = ChecklistInput.model_validate({"items": list(items)})
    return [(str(p["pointer"]), str(p["code"])) for p in checklist_problems(parsed)]


SOUND = (
    item("sign", photo="required", critical=True, weight=2.5),
    item("rating", "scale", scale_max=5, photo="on_fail"),
    item("facings", "number", min=4),
    item("days", "number", min=7, max=45, help={"zh": "库存 ÷ 日销", "en": "Stock ÷ daily sales"}),
    item("same_bounds", "number", min=3, max=3),
)


def test_a_sound_checklist_has_no_problems() -> None:
    assert rule_errors(*SOUND) == []


def test_defaults_of_an_item() -> None:
    parsed = ChecklistInput.model_validate({"items": [item("a")]}).items[0]
    assert (parsed.weight, parsed.critical, parsed.photo, parsed.help) == (1.0, False, "none", None)


@pytest.mark.parametrize("key", ["Bad", "1a", "with space", "a-b", "", "x" * 65, "a\x00", 7])
def test_bad_key_syntax_points_at_the_key(key: object) -> None:
    assert parse_errors(item("ok"), {**item("x"), "key": key})[0][0] == "/items/1/key"


def test_a_key_of_64_characters_is_fine() -> None:
    assert rule_errors(item("k" * 64)) == []


@pytest.mark.parametrize(
    ("extra", "pointer", "error"),
    [
        ({"kind": "photo"}, "/items/0/kind", "literal_error"),
        ({"weight": 0}, "/items/0/weight", "greater_than"),
        ({"weight": -1}, "/items/0/weight", "greater_than"),
        ({"weight": 100.5}, "/items/0/weight", "less_than_equal"),
        ({"weight": True}, "/items/0/weight", "float_type"),
        ({"weight": "2"}, "/items/0/weight", "float_type"),
        ({"weight": float("nan")}, "/items/0/weight", "finite_number"),
        ({"critical": 1}, "/items/0/critical", "bool_type"),
        ({"photo": "always"}, "/items/0/photo", "literal_error"),
        ({"colour": "red"}, "/items/0/colour", "extra_forbidden"),
        ({"label": {"zh": "名\x00字", "en": "x"}}, "/items/0/label/zh", "string_pattern_mismatch"),
        ({"section": {"zh": "", "en": "x"}}, "/items/0/section/zh", "string_too_short"),
        ({"help": {"zh": "x" * 1001}}, "/items/0/help/zh", "string_too_long"),
    ],
)
def test_a_bad_property_points_at_itself(extra: dict[str, Any], pointer: str, error: str) -> None:
    assert parse_errors({**item("a"), **extra}) == [(pointer, error)]


@pytest.mark.parametrize(
    ("scale_max", "error"),
    [(1, "greater_than_equal"), (11, "less_than_equal"), (True, "int_type"), (5.5, "int_type")],
)
def test_scale_max_is_a_whole_number_from_2_to_10(scale_max: object, error: str) -> None:
    assert parse_errors(item("a", "scale", scale_max=scale_max)) == [("/items/0/scale_max", error)]


def test_number_bounds_are_finite_numbers_never_booleans() -> None:
    errors = parse_errors(
        item("a", "number", min=True),
        item("b", "number", max=10**13),
        item("c", "number", max=float("inf")),
    )
    assert errors == [
        ("/items/0/min", "float_type"),
        ("/items/1/max", "less_than_equal"),
        ("/items/2/max", "finite_number"),
    ]


def test_bounds_may_be_whole_or_fractional() -> None:
    parsed = ChecklistInput.model_validate({"items": [item("a", "number", min=4, max=7.5)]})
    assert (parsed.items[0].min, parsed.items[0].max) == (4.0, 7.5)


def test_english_falls_back_to_chinese() -> None:
    parsed = ChecklistInput.model_validate(
        {"items": [{**item("a"), "label": {"zh": "店内整洁", "en": ""}}]}
    )
    assert parsed.items[0].label.en == "店内整洁"


def test_a_checklist_has_1_to_100_items() -> None:
    assert parse_errors() == [("/items", "too_short")]
    too_many = [item(f"k{index}") for index in range(MAX_ITEMS + 1)]
    assert parse_errors(*too_many) == [("/items", "too_long")]
    assert rule_errors(*too_many[:MAX_ITEMS]) == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (item("a"), [("/items/1/key", "duplicate")]),
        (item("b", "scale"), [("/items/1/scale_max", "required")]),
        (item("b", scale_max=5), [("/items/1/scale_max", "not_applicable")]),
        (item("b", "number", min=1, scale_max=5), [("/items/1/scale_max", "not_applicable")]),
        (item("b", min=0), [("/items/1/min", "not_applicable")]),
        (
            item("b", "scale", scale_max=5, min=0, max=5),
            [("/items/1/min", "not_applicable"), ("/items/1/max", "not_applicable")],
        ),
        (item("b", "number"), [("/items/1/min", "required")]),
        (item("b", "number", min=5, max=4.5), [("/items/1/min", "min_above_max")]),
    ],
)
def test_cross_property_rules(bad: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert rule_errors(item("a"), bad) == expected


def test_every_problem_is_reported_at_once_in_item_order() -> None:
    assert rule_errors(
        item("a", "scale"),
        item("a", "number", min=9, max=1),
        item("c", max=3),
    ) == [
        ("/items/0/scale_max", "required"),
        ("/items/1/key", "duplicate"),
        ("/items/1/min", "min_above_max"),
        ("/items/2/max", "not_applicable"),
    ]


# --- the run-time checklist ----------------------------------------------------------------------


def parsed(*items: dict[str, Any]) -> ChecklistInput:
    return ChecklistInput.model_validate({"items": list(items)})


def test_stored_items_leave_unset_options_out_and_read_back_the_same() -> None:
    checklist = parsed(*SOUND)
    stored = stored_items(checklist)
    assert "scale_max" not in stored[0] and "help" not in stored[0]
    assert stored[2]["min"] == 4.0 and "max" not in stored[2]
    assert checklist_from_stored("standard", 3, stored) == checklist_from_input(
        "standard", 3, checklist
    )


def test_a_stored_row_that_no_longer_parses_fails_loudly() -> None:
    with pytest.raises(ValidationError):
        checklist_from_stored("standard", 1, [{"key": "a", "kind": "check"}])


def test_items_by_key_and_sections_in_order_of_first_appearance() -> None:
    storefront = {"zh": "门头与环境", "en": "Storefront & surroundings"}
    stock = {"zh": "库存", "en": "Stock"}
    checklist = checklist_from_input(
        "standard",
        1,
        parsed(
            item("sign", section=storefront),
            item("expired", section=stock),
            item("clean", section=storefront),
            item("oos", section=stock),
        ),
    )
    found = checklist.item("clean")
    assert found is not None and found.section == Bilingual(
        "门头与环境", "Storefront & surroundings"
    )
    assert checklist.item("nope") is None
    assert [(s.title.zh, [i.key for i in s.items]) for s in checklist.sections()] == [
        ("门头与环境", ["sign", "clean"]),
        ("库存", ["expired", "oos"]),
    ]


def test_the_runtime_checklist_is_frozen() -> None:
    checklist = checklist_from_input("standard", 1, parsed(item("a")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        checklist.items[0].weight = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        checklist.version = 2  # type: ignore[misc]


def test_checklist_read_has_every_property_of_every_item() -> None:
    checklist = checklist_from_input("standard", 2, parsed(*SOUND))
    read = checklist_read(checklist)
    assert (read["key"], read["version"], len(read["items"])) == ("standard", 2, len(SOUND))
    assert read["items"][0] == {
        "key": "sign",
        "section": {"zh": "陈列", "en": "Display"},
        "label": {"zh": "项目 sign", "en": "Item sign"},
        "kind": "check",
        "weight": 2.5,
        "critical": True,
        "scale_max": None,
        "min": None,
        "max": None,
        "photo": "required",
        "help": None,
    }
    assert read["items"][3]["help"] == {"zh": "库存 ÷ 日销", "en": "Stock ÷ daily sales"}
    assert (read["items"][3]["min"], read["items"][3]["max"]) == (7, 45)
