"""The audit score (pure), exactly as DESIGN §5 defines it: a table over every item kind, N/A,
weights, critical items, band and pass edges, and half-up rounding of exact values."""

from decimal import Decimal
from typing import Any, NamedTuple

import pytest

from backend.audits.checklist import Checklist, ChecklistInput, checklist_from_input
from backend.audits.scoring import Score, band, score


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


def check(key: str, weight: float = 1, *, critical: bool = False) -> dict[str, Any]:
    return {"key": key, "kind": "check", "weight": weight, "critical": critical}


def scale(key: str, top: int, weight: float = 1, *, critical: bool = False) -> dict[str, Any]:
    return {"key": key, "kind": "scale", "scale_max": top, "weight": weight, "critical": critical}


def number(
    key: str,
    low: float | None = None,
    high: float | None = None,
    weight: float = 1,
    *,
    critical: bool = False,
) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "number",
        "min": low,
        "max": high,
        "weight": weight,
        "critical": critical,
    }


def res(result: str) -> dict[str, Any]:
    return {"result": result, "value": None, "note": None}


def val(value: float) -> dict[str, Any]:
    return {"result": None, "value": value, "note": None}


class Case(NamedTuple):
    items: list[dict[str, Any]]
    results: dict[str, dict[str, Any]]
    earned: float
    possible: float
    percent: float
    band: str
    passed: bool
    failed: list[str]
    failed_critical: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    "checks earn their weight on pass, 0 on fail": Case(
        [check("a", 3), check("b", 1)],
        {"a": res("pass"), "b": res("fail")},
        3,
        4,
        75.0,
        "amber",
        False,
        ["b"],
    ),
    "a scale earns weight × value / scale_max": Case(
        [scale("s", 5, 2), check("c", 2)],
        {"s": val(4), "c": res("pass")},
        3.6,
        4,
        90.0,
        "green",
        True,
        [],
    ),
    "a scale below half fails but still earns its share": Case(
        [scale("s", 5, 2), check("c", 2)],
        {"s": val(2), "c": res("pass")},
        2.8,
        4,
        70.0,
        "red",
        False,
        ["s"],
    ),
    "a scale at 0 earns nothing": Case(
        [scale("s", 10)], {"s": val(0)}, 0, 1, 0.0, "red", False, ["s"]
    ),
    "a number inside its bounds (bounds included) earns its weight": Case(
        [number("low", 7, 45), number("high", 7, 45), number("open", low=4)],
        {"low": val(7), "high": val(45), "open": val(10**9)},
        3,
        3,
        100.0,
        "green",
        True,
        [],
    ),
    "a number outside its bounds earns 0 and fails": Case(
        [number("under", 7, 45, 2), number("over", high=0.5), check("c", 2)],
        {"under": val(6.99), "over": val(0.75), "c": res("pass")},
        2,
        5,
        40.0,
        "red",
        False,
        ["under", "over"],
    ),
    "N/A leaves an item out of possible, whatever its kind": Case(
        [check("a", 5), scale("s", 5, 5), number("n", 1, 2, 5), check("b", 1)],
        {"a": res("na"), "s": res("na"), "n": res("na"), "b": res("pass")},
        1,
        1,
        100.0,
        "green",
        True,
        [],
    ),
    "all N/A: nothing was found wrong": Case(
        [check("a", critical=True), scale("s", 3)],
        {"a": res("na"), "s": res("na")},
        0,
        0,
        100.0,
        "green",
        True,
        [],
    ),
    "items without a result are not scored": Case(
        [check("a"), check("b", 9), scale("s", 5, 9)],
        {"a": res("pass"), "b": {"result": None, "value": None, "note": "稍后"}},
        1,
        1,
        100.0,
        "green",
        True,
        [],
    ),
    "89.95 rounds up to 90.0: green": Case(
        [check("a", 89.95), check("b", 10.05)],
        {"a": res("pass"), "b": res("fail")},
        89.95,
        100,
        90.0,
        "green",
        True,
        ["b"],
    ),
    "89.94 rounds to 89.9: amber": Case(
        [check("a", 89.94), check("b", 10.06)],
        {"a": res("pass"), "b": res("fail")},
        89.94,
        100,
        89.9,
        "amber",
        True,
        ["b"],
    ),
    "75.0 is amber": Case(
        [check("a", 3), check("b", 1)],
        {"a": res("pass"), "b": res("fail")},
        3,
        4,
        75.0,
        "amber",
        False,
        ["b"],
    ),
    "74.95 rounds up to 75.0: amber": Case(
        [check("a", 74.95), check("b", 25.05)],
        {"a": res("pass"), "b": res("fail")},
        74.95,
        100,
        75.0,
        "amber",
        False,
        ["b"],
    ),
    "74.94 rounds to 74.9: red": Case(
        [check("a", 74.94), check("b", 25.06)],
        {"a": res("pass"), "b": res("fail")},
        74.94,
        100,
        74.9,
        "red",
        False,
        ["b"],
    ),
    "87.25 rounds half up to 87.3": Case(
        [check("a", 87.25), check("b", 12.75)],
        {"a": res("pass"), "b": res("fail")},
        87.25,
        100,
        87.3,
        "amber",
        True,
        ["b"],
    ),
    "exactly 18.75 rounds to 18.8 (as floats it is 18.749999999999996)": Case(
        [check("a", 0.21), check("b", 0.91)],
        {"a": res("pass"), "b": res("fail")},
        0.21,
        1.12,
        18.8,
        "red",
        False,
        ["b"],
    ),
    "thirds are exact: 0.9 of 4.8 is 18.75 -> 18.8": Case(
        [scale("s", 3, 2.7), check("b", 2.1)],
        {"s": val(1), "b": res("fail")},
        0.9,
        4.8,
        18.8,
        "red",
        False,
        ["s", "b"],
    ),
    "two thirds is 66.7, earned kept to 4 decimals": Case(
        [scale("s", 3)], {"s": val(2)}, 0.6667, 1, 66.7, "red", False, []
    ),
    "exactly 80.0 passes": Case(
        [check("a", 80), check("b", 20)],
        {"a": res("pass"), "b": res("fail")},
        80,
        100,
        80.0,
        "amber",
        True,
        ["b"],
    ),
    "79.95 rounds to 80.0 and passes": Case(
        [check("a", 79.95), check("b", 20.05)],
        {"a": res("pass"), "b": res("fail")},
        79.95,
        100,
        80.0,
        "amber",
        True,
        ["b"],
    ),
    "79.94 rounds to 79.9 and does not pass": Case(
        [check("a", 79.94), check("b", 20.06)],
        {"a": res("pass"), "b": res("fail")},
        79.94,
        100,
        79.9,
        "amber",
        False,
        ["b"],
    ),
    "a failed critical item fails the audit even at 100 %": Case(
        [*(check(f"c{i}", 100) for i in range(10)), check("expired", 0.01, critical=True)],
        {**{f"c{i}": res("pass") for i in range(10)}, "expired": res("fail")},
        1000,
        1000.01,
        100.0,
        "green",
        False,
        ["expired"],
        ("expired",),
    ),
    "critical failures of every kind, in checklist order": Case(
        [
            number("days", 7, 45, critical=True),
            check("ok", 10),
            scale("display", 4, critical=True),
            check("oos", critical=True),
        ],
        {"oos": res("fail"), "display": val(1), "ok": res("pass"), "days": val(60)},
        10.25,
        13,
        78.8,
        "amber",
        False,
        ["days", "display", "oos"],
        ("days", "display", "oos"),
    ),
    "a critical item that passes or is N/A does not fail the audit": Case(
        [check("expired", 3, critical=True), check("oos", 3, critical=True), check("c")],
        {"expired": res("pass"), "oos": res("na"), "c": res("pass")},
        4,
        4,
        100.0,
        "green",
        True,
        [],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_score(case: Case) -> None:
    assert score(build(*case.items), case.results) == Score(
        earned=case.earned,
        possible=case.possible,
        percent=case.percent,
        band=case.band,  # type: ignore[arg-type]
        passed=case.passed,
        failed_critical=list(case.failed_critical),
        failed=case.failed,
    )


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (100.0, "green"),
        (90.0, "green"),
        (89.9, "amber"),
        (75.0, "amber"),
        (74.9, "red"),
        (0.0, "red"),
        (Decimal("90.0"), "green"),
    ],
)
def test_band_edges(percent: float | Decimal, expected: str) -> None:
    assert band(percent) == expected


def test_results_of_unknown_items_and_malformed_entries_are_ignored() -> None:
    checklist = build(check("a"), scale("s", 5), number("n", 1, 2))
    results: dict[str, Any] = {
        "a": res("pass"),
        "s": {"result": "pass", "value": "4", "note": None},
        "n": ["x"],
        "ghost": res("fail"),
    }
    assert score(checklist, results) == Score(1, 1, 100.0, "green", True, [], [])


def test_the_score_is_frozen() -> None:
    result = score(build(check("a")), {"a": res("pass")})
    with pytest.raises(AttributeError):
        result.percent = 0  # type: ignore[misc]
