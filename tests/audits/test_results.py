"""Audit results (pure): validation with a pointer per problem, all at once and never raising on
any JSON; merging into the stored results; what fails; what submit still misses."""

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.audits.checklist import Checklist, ChecklistInput, checklist_from_input
from backend.audits.results import (
    NOTE_MAX_LENGTH,
    has_result,
    item_failed,
    merge_results,
    missing,
    result_problems,
    result_read,
)


def build(*items: dict[str, Any]) -> Checklist:
    parsed = ChecklistInput.model_validate(
        {
            "items": [
                {"section": {"zh": "陈列", "en": "Display"}, "label": {"zh": "项", "en": "Item"}}
                | spec
                for spec in items
            ]
        }
    )
    return checklist_from_input("standard", 1, parsed)


CHECKLIST = build(
    {"key": "sign", "kind": "check", "photo": "required"},
    {"key": "rating", "kind": "scale", "scale_max": 5, "photo": "on_fail"},
    {"key": "facings", "kind": "number", "min": 4, "photo": "on_fail"},
    {"key": "days", "kind": "number", "min": 7, "max": 45},
    {"key": "clean", "kind": "check", "photo": "on_fail"},
)


def problems(incoming: object) -> list[tuple[str, str]]:
    return [(str(p["pointer"]), str(p["code"])) for p in result_problems(CHECKLIST, incoming)]


def stored(result: str | None = None, value: float | None = None) -> dict[str, Any]:
    return {"result": result, "value": value, "note": None}


# --- validation ----------------------------------------------------------------------------------


def test_valid_results_of_every_kind() -> None:
    assert (
        problems(
            {
                "sign": {"result": "pass"},
                "rating": {"value": 0, "note": "货架很乱"},
                "facings": {"value": 2.5},
                "days": {"result": "na", "note": None},
                "clean": {"result": "fail", "note": "  "},
            }
        )
        == []
    )
    assert problems({}) == []


def test_the_stored_shape_sent_back_is_valid() -> None:
    # A client may echo what it was given: null result or value counts as left out.
    assert problems({"rating": {"result": None, "value": 3, "note": None}}) == []
    assert problems({"sign": {"result": "na", "value": None, "note": "无招牌"}}) == []


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        ({"nope": {"result": "pass"}}, [("/results/nope", "unknown_item")]),
        ({"a/b~c": {}}, [("/results/a~1b~0c", "unknown_item")]),
        ({"sign": "pass"}, [("/results/sign", "wrong_type")]),
        ({"sign": ["pass"]}, [("/results/sign", "wrong_type")]),
        ({"sign": None}, [("/results/sign", "wrong_type")]),
        ({"sign": {}}, [("/results/sign", "required")]),
        ({"sign": {"result": None}}, [("/results/sign", "required")]),
        ({"sign": {"result": "ok"}}, [("/results/sign/result", "not_an_option")]),
        ({"sign": {"result": "PASS"}}, [("/results/sign/result", "not_an_option")]),
        ({"sign": {"result": 1}}, [("/results/sign/result", "wrong_type")]),
        ({"sign": {"result": True}}, [("/results/sign/result", "wrong_type")]),
        ({"sign": {"value": 1}}, [("/results/sign/value", "not_applicable")]),
        (
            {"sign": {"result": "pass", "value": 1}},
            [("/results/sign/value", "not_applicable")],
        ),
        ({"sign": {"result": "pass", "photo": "x"}}, [("/results/sign/photo", "unknown_field")]),
        ({"rating": {"result": "pass"}}, [("/results/rating/result", "not_an_option")]),
        ({"rating": {"result": "fail"}}, [("/results/rating/result", "not_an_option")]),
        ({"rating": {"result": "pass", "value": 3}}, [("/results/rating", "result_and_value")]),
        ({"rating": {"result": "na", "value": 3}}, [("/results/rating", "result_and_value")]),
        ({"rating": {"value": 6}}, [("/results/rating/value", "out_of_range")]),
        ({"rating": {"value": -1}}, [("/results/rating/value", "out_of_range")]),
        ({"rating": {"value": 2.5}}, [("/results/rating/value", "not_integer")]),
        ({"rating": {"value": True}}, [("/results/rating/value", "wrong_type")]),
        ({"rating": {"value": "3"}}, [("/results/rating/value", "wrong_type")]),
        ({"facings": {"value": False}}, [("/results/facings/value", "wrong_type")]),
        ({"facings": {"value": [3]}}, [("/results/facings/value", "wrong_type")]),
        ({"facings": {"value": math.nan}}, [("/results/facings/value", "not_finite")]),
        ({"facings": {"value": -math.inf}}, [("/results/facings/value", "not_finite")]),
        ({"facings": {"value": 2**63}}, [("/results/facings/value", "out_of_range")]),
        ({"facings": {"value": 10**400}}, [("/results/facings/value", "out_of_range")]),
        ({"facings": {"value": 1e300}}, [("/results/facings/value", "out_of_range")]),
        ({"facings": {"result": "fail"}}, [("/results/facings/result", "not_an_option")]),
        ({"days": {"result": "pass", "value": 9}}, [("/results/days", "result_and_value")]),
        ({"clean": {"result": "pass", "note": 5}}, [("/results/clean/note", "wrong_type")]),
        (
            {"clean": {"result": "pass", "note": "x" * (NOTE_MAX_LENGTH + 1)}},
            [("/results/clean/note", "too_long")],
        ),
        (
            {"clean": {"result": "pass", "note": "坏\x00了"}},
            [("/results/clean/note", "control_characters")],
        ),
        (
            {"clean": {"result": "pass", "note": "\ud800"}},
            [("/results/clean/note", "invalid_text")],
        ),
    ],
)
def test_each_kind_of_problem_with_its_pointer(
    incoming: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(incoming) == expected


def test_a_note_of_exactly_the_limit_is_fine_and_whitespace_does_not_count() -> None:
    note = " " + "字" * NOTE_MAX_LENGTH + "\n"
    assert problems({"clean": {"result": "pass", "note": note}}) == []


def test_results_must_be_an_object() -> None:
    for incoming in ([], "x", None, 3, [{"sign": {"result": "pass"}}]):
        assert problems(incoming) == [("/results", "wrong_type")], incoming


def test_every_problem_at_once_in_checklist_order_unknown_keys_last() -> None:
    assert problems(
        {
            "zzz": {"result": "pass"},
            "clean": {"result": "maybe", "note": 3},
            "rating": {"value": 9},
            "sign": {"value": True, "result": "x"},
            "aaa": 1,
        }
    ) == [
        ("/results/sign/value", "not_applicable"),
        ("/results/sign/result", "not_an_option"),
        ("/results/rating/value", "out_of_range"),
        ("/results/clean/result", "not_an_option"),
        ("/results/clean/note", "wrong_type"),
        ("/results/zzz", "unknown_item"),
        ("/results/aaa", "unknown_item"),
    ]


def test_an_unknown_key_that_utf8_cannot_carry_still_gets_a_printable_pointer() -> None:
    [(pointer, code)] = problems({"\udcff": {"result": "pass"}})
    assert code == "unknown_item"
    pointer.encode("utf-8")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
KEYS = st.sampled_from([item.key for item in CHECKLIST.items]) | st.text(max_size=8)
ENTRIES = (
    st.fixed_dictionaries(
        {},
        optional={
            "result": st.sampled_from(["pass", "fail", "na", "x"]) | JSON,
            "value": st.integers(min_value=-10, max_value=10) | JSON,
            "note": JSON,
        },
    )
    | JSON
)
RESULTS = st.dictionaries(KEYS, ENTRIES, max_size=6) | JSON


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incoming=RESULTS, before=st.dictionaries(KEYS, JSON, max_size=3))
def test_hostile_json_never_raises_and_only_valid_entries_are_merged(
    incoming: Any, before: dict[str, Any]
) -> None:
    found = result_problems(CHECKLIST, incoming)
    merged = merge_results(CHECKLIST, before, incoming)
    assert all(str(p["pointer"]).startswith("/results") for p in found)
    if not isinstance(incoming, dict):
        assert merged == before
        return
    bad = {str(p["pointer"]).split("/")[2] for p in found}
    for key, entry in merged.items():
        if key in before and entry is before[key]:
            continue  # left as it was
        assert key in incoming and CHECKLIST.item(key) is not None
        assert set(entry) == {"result", "value", "note"}
    if not found:
        # Everything valid: every known item sent was merged.
        assert all(key in merged for key in incoming)
    assert not any(merged.get(key) != before.get(key) for key in bad if key in incoming)
    for item in CHECKLIST.items:  # judging whatever ended up stored never raises either
        item_failed(item, merged.get(item.key))
        result_read(item, merged.get(item.key))
    missing(CHECKLIST, merged, set())


# --- merging -------------------------------------------------------------------------------------


def test_merge_normalizes_and_keeps_other_items() -> None:
    before = {"sign": stored("pass")}
    merged = merge_results(
        CHECKLIST,
        before,
        {"rating": {"value": 4.0, "note": "  整齐  "}, "days": {"result": "na"}},
    )
    assert merged == {
        "sign": stored("pass"),
        "rating": {"result": None, "value": 4, "note": "整齐"},
        "days": stored("na"),
    }
    assert type(merged["rating"]["value"]) is int
    assert before == {"sign": stored("pass")}  # not changed in place


def test_a_new_result_replaces_the_old_one_and_keeps_the_note() -> None:
    before = {"rating": {"result": None, "value": 4, "note": "整齐"}}
    merged = merge_results(CHECKLIST, before, {"rating": {"result": "na"}})
    assert merged["rating"] == {"result": "na", "value": None, "note": "整齐"}
    merged = merge_results(CHECKLIST, merged, {"rating": {"value": 1}})
    assert merged["rating"] == {"result": None, "value": 1, "note": "整齐"}


def test_a_note_alone_keeps_the_result_and_null_or_blank_clears_it() -> None:
    before = {"clean": stored("fail")}
    merged = merge_results(CHECKLIST, before, {"clean": {"note": "地面有积水"}})
    assert merged["clean"] == {"result": "fail", "value": None, "note": "地面有积水"}
    assert merge_results(CHECKLIST, merged, {"clean": {"note": None}})["clean"]["note"] is None
    assert merge_results(CHECKLIST, merged, {"clean": {"note": " \n"}})["clean"]["note"] is None
    note_only = merge_results(CHECKLIST, {}, {"sign": {"note": "看不清"}})
    assert note_only["sign"] == {"result": None, "value": None, "note": "看不清"}
    assert not has_result(CHECKLIST.items[0], note_only["sign"])


def test_merge_skips_what_validation_refuses() -> None:
    before = {"sign": stored("pass")}
    merged = merge_results(
        CHECKLIST,
        before,
        {"sign": {"result": "bad"}, "nope": {"result": "pass"}, "clean": {"result": "fail"}},
    )
    assert merged == {"sign": stored("pass"), "clean": stored("fail")}


# --- failing -------------------------------------------------------------------------------------

SCALE_4 = build({"key": "s", "kind": "scale", "scale_max": 4}).items[0]
RANGE = build({"key": "n", "kind": "number", "min": 7, "max": 45}).items[0]
AT_LEAST = build({"key": "n", "kind": "number", "min": 4}).items[0]
AT_MOST = build({"key": "n", "kind": "number", "max": 0.5}).items[0]
CHECK, SCALE_5 = CHECKLIST.items[0], CHECKLIST.items[1]


@pytest.mark.parametrize(
    ("item_index", "result", "failed"),
    [
        (0, stored("pass"), False),
        (0, stored("fail"), True),
        (0, stored("na"), False),
        (0, None, False),
        (0, {"result": "fail", "value": 9, "note": None}, True),
        (1, stored(value=0), True),
        (1, stored(value=2), True),  # 2 < 5 / 2
        (1, stored(value=3), False),
        (1, stored(value=5), False),
        (1, stored("na"), False),
        (1, stored("fail"), False),  # never stored by merge: not a result of a scale
        (2, stored(value=4), False),
        (2, stored(value=3.99), True),
        (2, stored(value=10**9), False),
        (3, stored(value=7), False),
        (3, stored(value=45), False),
        (3, stored(value=6.5), True),
        (3, stored(value=45.01), True),
        (3, stored("na"), False),
        (3, {"value": True}, False),  # malformed: no result, so nothing failed
        (3, ["fail"], False),
    ],
)
def test_item_failed(item_index: int, result: object, failed: bool) -> None:
    assert item_failed(CHECKLIST.items[item_index], result) is failed


def test_half_of_an_even_scale_passes_and_below_fails() -> None:
    assert [item_failed(SCALE_4, stored(value=v)) for v in range(5)] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_one_sided_bounds() -> None:
    assert not item_failed(AT_LEAST, stored(value=10**12))
    assert item_failed(AT_MOST, stored(value=0.51))
    assert not item_failed(AT_MOST, stored(value=-(10**12)))


def test_result_read() -> None:
    assert result_read(SCALE_5, {"result": None, "value": 1, "note": "乱"}) == {
        "result": None,
        "value": 1,
        "note": "乱",
        "failed": True,
    }
    assert result_read(CHECK, None) == {
        "result": None,
        "value": None,
        "note": None,
        "failed": False,
    }


# --- what submit still needs ---------------------------------------------------------------------


def test_nothing_answered_lists_every_item_and_the_required_photo_in_order() -> None:
    assert missing(CHECKLIST, {}, set()) == [
        "item:sign",
        "photo:sign",
        "item:rating",
        "item:facings",
        "item:days",
        "item:clean",
    ]


def test_photos_are_asked_for_where_required_and_where_an_on_fail_item_failed() -> None:
    results = {
        "sign": stored("na"),
        "rating": stored(value=1),
        "facings": stored(value=10),
        "days": {"result": None, "value": None, "note": "没数"},
        "clean": stored("fail"),
    }
    assert missing(CHECKLIST, results, set()) == [
        "photo:sign",
        "photo:rating",
        "item:days",
        "photo:clean",
    ]
    assert missing(CHECKLIST, results, {"sign", "clean", "days"}) == ["photo:rating", "item:days"]


def test_a_complete_audit_misses_nothing() -> None:
    results = {
        "sign": stored("pass"),
        "rating": stored(value=3),
        "facings": stored("na"),
        "days": stored(value=7),
        "clean": stored("pass"),
    }
    assert missing(CHECKLIST, results, {"sign"}) == []
