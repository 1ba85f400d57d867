"""Definition rules (pure): each problem is reported with a pointer into ``{fields}``."""

from typing import Any

import pytest
from pydantic import ValidationError

from backend.forms.definitions import (
    MAX_FIELDS,
    FormDefinitionInput,
    definition_problems,
)
from tests.factories.forms import field, label, options


def parse_errors(*fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems pydantic finds (types, syntax, caps), as (pointer, error type)."""
    with pytest.raises(ValidationError) as caught:
        FormDefinitionInput.model_validate({"fields": list(fields)})
    return [
        ("/" + "/".join(str(p) for p in error["loc"]), error["type"])
        for error in caught.value.errors()
    ]


def rule_errors(*fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems the cross-field rules find, as (pointer, code)."""
    parsed = FormDefinitionInput.model_validate({"fields": list(fields)})
    return [(str(p["pointer"]), str(p["code"])) for p in definition_problems(parsed.fields)]


def test_a_sound_definition_has_no_problems() -> None:
    assert (
        rule_errors(
            field("kind", "choice", options=options("a", "b"), required=True),
            field("count", "integer", min=0, max=10),
            field("why", "text", max_length=50, visible_if={"field": "kind", "equals": "b"}),
            field("flag", "boolean"),
            field("more", "textarea", visible_if={"field": "flag", "equals": True}),
            field("rows", "table", columns=[field("sku", "text", required=True)], max_items=5),
            field("oos", "string_list", pending=True, max_items=3),
        )
        == []
    )


def test_unknown_type_points_at_the_type() -> None:
    assert ("/fields/1/type", "literal_error") in parse_errors(
        field("a", "text"), field("b", "colour")
    )


def test_bad_key_syntax() -> None:
    for key in ("Bad", "1a", "with space", "a-b", "", "x" * 41, "a\x00"):
        assert parse_errors(field(key, "text"))[0][0] == "/fields/0/key", key


def test_control_characters_in_labels_are_refused() -> None:
    errors = parse_errors({"key": "a", "type": "text", "label": {"zh": "名\x00字", "en": "x"}})
    assert errors == [("/fields/0/label/zh", "string_pattern_mismatch")]


def test_english_label_falls_back_to_chinese() -> None:
    parsed = FormDefinitionInput.model_validate(
        {"fields": [{"key": "a", "type": "text", "label": {"zh": "名字"}}]}
    )
    assert parsed.fields[0].label.en == "名字"


def test_unknown_properties_are_refused() -> None:
    assert parse_errors(field("a", "text", colour="red")) == [
        ("/fields/0/colour", "extra_forbidden")
    ]


def test_caps() -> None:
    too_many = [field(f"f{i}", "text") for i in range(MAX_FIELDS + 1)]
    assert parse_errors(*too_many) == [("/fields", "too_long")]
    assert parse_errors(field("a", "choice", options=options(*[f"o{i}" for i in range(201)])))[
        0
    ] == ("/fields/0/options", "too_long")
    assert parse_errors({"key": "a", "type": "text", "label": label("x" * 201)})[0][0] == (
        "/fields/0/label/zh"
    )
    assert parse_errors(field("a", "number", min=2**63))[0][0].startswith("/fields/0/min")
    assert parse_errors(field("a", "text", max_length=10**6))[0][0] == "/fields/0/max_length"


def test_duplicate_keys() -> None:
    assert rule_errors(field("a", "text"), field("b", "text"), field("a", "integer")) == [
        ("/fields/2/key", "duplicate")
    ]


def test_choice_types_need_options_and_others_refuse_them() -> None:
    assert rule_errors(
        field("a", "choice"),
        field("b", "multi_choice", options=[]),
        field("c", "text", options=options("x")),
        field("d", "choice", options=options("x", "x")),
    ) == [
        ("/fields/0/options", "required"),
        ("/fields/1/options", "required"),
        ("/fields/2/options", "not_applicable"),
        ("/fields/3/options/1/value", "duplicate"),
    ]


def test_bounds() -> None:
    assert rule_errors(
        field("a", "number", min=5, max=1),
        field("b", "integer", min=0.5),
        field("c", "text", min=1),
        field("d", "boolean", max_length=3),
        field("e", "integer", max_items=3),
    ) == [
        ("/fields/0/min", "min_above_max"),
        ("/fields/1/min", "not_integer"),
        ("/fields/2/min", "not_applicable"),
        ("/fields/3/max_length", "not_applicable"),
        ("/fields/4/max_items", "not_applicable"),
    ]


def test_tables_need_columns_of_their_own_kind() -> None:
    assert rule_errors(field("t", "table"), field("u", "text", columns=[field("x", "text")])) == [
        ("/fields/0/columns", "required"),
        ("/fields/1/columns", "not_applicable"),
    ]
    # Columns hold one value each: no lists, tables or long text inside a table.
    assert parse_errors(field("t", "table", columns=[field("x", "string_list")]))[0] == (
        "/fields/0/columns/0/type",
        "literal_error",
    )
    assert rule_errors(
        field(
            "t",
            "table",
            columns=[field("x", "choice"), field("x", "integer", min=3, max=1)],
        )
    ) == [
        ("/fields/0/columns/0/options", "required"),
        ("/fields/0/columns/1/key", "duplicate"),
        ("/fields/0/columns/1/min", "min_above_max"),
    ]


def test_visible_if_must_refer_to_an_earlier_field() -> None:
    assert rule_errors(
        field("a", "boolean", visible_if={"field": "b", "equals": True}),
        field("b", "boolean"),
        field("c", "boolean", visible_if={"field": "nope", "equals": True}),
        field("d", "boolean", visible_if={"field": "d", "equals": True}),
    ) == [
        ("/fields/0/visible_if/field", "later_field"),
        ("/fields/2/visible_if/field", "unknown_field"),
        ("/fields/3/visible_if/field", "later_field"),
    ]


def test_visible_if_values_must_be_possible_answers() -> None:
    assert rule_errors(
        field("kind", "choice", options=options("a", "b")),
        field("x", "text", visible_if={"field": "kind", "equals": "c"}),
        field("y", "text", visible_if={"field": "kind", "in": ["a", "z"]}),
        field("flag", "boolean"),
        field("z", "text", visible_if={"field": "flag", "equals": "yes"}),
        field("n", "integer"),
        field("w", "text", visible_if={"field": "n", "equals": True}),
        field("list", "string_list"),
        field("v", "text", visible_if={"field": "list", "equals": "x"}),
    ) == [
        ("/fields/1/visible_if/equals", "not_an_option"),
        ("/fields/2/visible_if/in/1", "not_an_option"),
        ("/fields/4/visible_if/equals", "wrong_type"),
        ("/fields/6/visible_if/equals", "wrong_type"),
        ("/fields/8/visible_if/field", "unsupported"),
    ]


def test_visible_if_needs_exactly_one_condition() -> None:
    assert parse_errors(field("a", "boolean"), field("b", "text", visible_if={"field": "a"}))[
        0
    ] == ("/fields/1/visible_if", "value_error")
    assert parse_errors(
        field("a", "boolean"),
        field("b", "text", visible_if={"field": "a", "equals": True, "in": [True]}),
    )[0] == ("/fields/1/visible_if", "value_error")


def test_pending_is_for_typed_answers_only() -> None:
    assert rule_errors(field("a", "boolean", pending=True)) == [
        ("/fields/0/pending", "not_applicable")
    ]


def test_every_problem_is_reported_at_once() -> None:
    assert (
        len(
            rule_errors(
                field("a", "choice"),
                field("a", "number", min=3, max=1),
                field("b", "text", visible_if={"field": "zz", "equals": "x"}),
            )
        )
        == 4
    )


def test_exclusive_is_for_multi_choice_options_only() -> None:
    none = {"value": "none", "label": label("没有"), "exclusive": True}
    assert rule_errors(field("promos", "multi_choice", options=[none, *options("buy_gift")])) == []
    table_column = {
        "key": "kind",
        "type": "choice",
        "label": label("kind"),
        "options": [*options("a"), none],
    }
    assert rule_errors(
        field("one", "choice", options=[*options("a"), none]),
        field("rows", "table", columns=[table_column]),
    ) == [
        ("/fields/0/options/1/exclusive", "not_applicable"),
        ("/fields/1/columns/0/options/1/exclusive", "not_applicable"),
    ]
    assert parse_errors(
        field("promos", "multi_choice", options=[{**none, "exclusive": "yes"}])
    ) == [("/fields/0/options/0/exclusive", "bool_type")]
