"""An audit's score, exactly as DESIGN §5 defines it. Pure: no I/O.

Per item with a result:

- ``check`` earns its weight on pass, 0 on fail;
- ``scale`` earns weight × value / scale_max (and fails below half of scale_max);
- ``number`` earns its weight inside min..max (bounds included), 0 outside (and fails);
- ``na`` leaves the item out: it earns nothing and adds nothing to ``possible``.

``percent = 100 × earned / possible`` rounded to one decimal, half up (87.25 -> 87.3). Bands are
read on the rounded percent: green ≥ 90, amber ≥ 75, else red. ``passed`` is percent ≥ 80 and no
critical item failed.

The arithmetic is exact: weights and values are taken as the decimals they were written as
(``Fraction(str(0.1)) == 1/10``) and divided as fractions, because a scale out of 3 or 7 gives
thirds and sevenths that neither floats nor a Decimal of any precision hold exactly, and a
percent that is exactly 89.95 must round to 90.0 every time, never to 89.9.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from backend.audits.checklist import Checklist, ChecklistItem
from backend.audits.results import NOT_APPLICABLE, item_failed, stored_outcome

Band = Literal["green", "amber", "red"]

GREEN_FROM = Decimal(90)
AMBER_FROM = Decimal(75)
PASS_FROM = Decimal(80)
# Stored scores keep 4 decimals: enough to re-derive the one-decimal percent from them.
STORED_PLACES = 4
PERCENT_PLACES = 1


@dataclass(frozen=True, slots=True)
class Score:
    earned: float
    possible: float
    percent: float
    band: Band
    passed: bool
    # Item keys in checklist order.
    failed_critical: list[str]
    failed: list[str]


def score(checklist: Checklist, results: Mapping[str, Any]) -> Score:
    """The score of an audit's stored results. Items without a result are left out like N/A
    ones: submit refuses an incomplete audit before it is scored.

    When every item is N/A, ``possible`` is 0 and the percent is 100.0 (green): the auditor found
    nothing wrong, and an audit that checked nothing applicable must not read as a failure that
    would then need rectifying.
    """
    earned = Fraction(0)
    possible = Fraction(0)
    failed: list[str] = []
    failed_critical: list[str] = []
    for item in checklist.items:
        stored = results.get(item.key)
        outcome = stored_outcome(item, stored)
        if outcome is None or outcome == NOT_APPLICABLE:
            continue
        earned += _earned(item, outcome)
        possible += _exact(item.weight)
        if item_failed(item, stored):
            failed.append(item.key)
            if item.critical:
                failed_critical.append(item.key)
    percent = _half_up(100 * earned / possible, PERCENT_PLACES) if possible else Decimal("100.0")
    return Score(
        earned=float(_half_up(earned, STORED_PLACES)),
        possible=float(_half_up(possible, STORED_PLACES)),
        percent=float(percent),
        band=band(percent),
        passed=percent >= PASS_FROM and not failed_critical,
        failed_critical=failed_critical,
        failed=failed,
    )


def band(percent: Decimal | float) -> Band:
    """The band of a (rounded) percent."""
    value = Decimal(str(percent)) if isinstance(percent, float) else percent
    if value >= GREEN_FROM:
        return "green"
    if value >= AMBER_FROM:
        return "amber"
    return "red"


def _earned(item: ChecklistItem, outcome: str | int | float) -> Fraction:
    weight = _exact(item.weight)
    if item.kind == "check":
        return weight if outcome == "pass" else Fraction(0)
    if isinstance(outcome, str):  # a stored result that is no number: earns nothing
        return Fraction(0)
    if item.kind == "scale":
        top = item.scale_max or 1
        return weight * _exact(min(max(outcome, 0), top)) / top
    inside = (item.min is None or outcome >= item.min) and (item.max is None or outcome <= item.max)
    return weight if inside else Fraction(0)


def _exact(number: int | float) -> Fraction:
    """A number as the decimal it was written as (0.1 is 1/10, not the float nearest to it)."""
    if isinstance(number, int):
        return Fraction(number)
    if not math.isfinite(number):  # never stored by results; counted as nothing if it were
        return Fraction(0)
    return Fraction(repr(number))


def _half_up(value: Fraction, places: int) -> Decimal:
    """``value`` (≥ 0) rounded half up to ``places`` decimals, computed on the exact fraction."""
    scale = 10**places
    units = math.floor(value * scale + Fraction(1, 2))
    return Decimal(units).scaleb(-places)
