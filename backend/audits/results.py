"""An audit's results checked against the checklist version it is pinned to, merged into what is
stored, and judged (failed? missing?). Pure: no I/O.

What a client sends per item key (``PUT /audits/{id}/results``)::

    check:   {"result": "pass" | "fail" | "na"}
    scale:   {"value": 0..scale_max}   or {"result": "na"}
    number:  {"value": <finite number>} or {"result": "na"}

each with an optional ``note`` (text up to 1,000 characters; ``null`` or blank clears it). An
entry with only a note keeps the item's stored result. ``null`` for ``result`` or ``value``
counts as left out, so a client may send back the stored shape it was given.

What ``audits.results`` stores per item key: ``{"result": str | None, "value": number | None,
"note": str | None}``.

The input is whatever JSON arrived: these functions never raise on it, whatever its types.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.audits.checklist import Checklist, ChecklistItem
from backend.errors import FieldError
from backend.forms.definitions import NUMBER_LIMIT
from backend.kit.schemas import NO_CONTROL_CHARS

POINTER_ROOT = "/results"
CHECK_RESULTS = frozenset({"pass", "fail", "na"})
NOT_APPLICABLE = "na"
NOTE_MAX_LENGTH = 1_000
# A scale item fails below this share of its maximum (published to the PWA by /config).
SCALE_FAIL_BELOW = 0.5
ENTRY_PROPERTIES = ("result", "value", "note")

_CLEAN_TEXT = re.compile(NO_CONTROL_CHARS)

Number = int | float


@dataclass(frozen=True, slots=True)
class _Entry:
    """One valid incoming entry, normalized: what it sets of the stored result."""

    sets_outcome: bool
    result: str | None
    value: Number | None
    sets_note: bool
    note: str | None


# --- validation ----------------------------------------------------------------------------------


def result_problems(checklist: Checklist, incoming: object) -> list[FieldError]:
    """Every problem of an incoming ``results`` object at once, in checklist order (keys that
    are no item of it last), each pointing into the request body (``/results/shelf/value``)."""
    if not isinstance(incoming, Mapping):
        return [FieldError(POINTER_ROOT, "must be an object of results by item key", "wrong_type")]
    order = {item.key: index for index, item in enumerate(checklist.items)}
    found: list[tuple[int, FieldError]] = []
    for key, entry in incoming.items():
        item = checklist.item(key) if isinstance(key, str) else None
        if item is None:
            problem = FieldError(_pointer(key), "is not an item of this checklist", "unknown_item")
            found.append((len(order), problem))
            continue
        found += [(order[item.key], problem) for problem in _parse(item, entry)[1]]
    # sorted() is stable: within an item (and among unknown keys) the order stays as sent.
    return [problem for _, problem in sorted(found, key=lambda pair: pair[0])]


def _parse(item: ChecklistItem, entry: object) -> tuple[_Entry | None, list[FieldError]]:
    at = _pointer(item.key)
    if not isinstance(entry, Mapping):
        return None, [
            FieldError(at, "must be an object: a result or a value, and a note", "wrong_type")
        ]
    problems = [
        FieldError(_pointer(item.key, name), "is not a property of a result", "unknown_field")
        for name in entry
        if name not in ENTRY_PROPERTIES
    ]
    result, value = entry.get("result"), entry.get("value")
    outcome, outcome_problems = _outcome(item, result, value)
    note, note_problems = _note(item, entry.get("note"))
    problems += outcome_problems + note_problems
    sets_note = "note" in entry
    if outcome is None and not sets_note and not problems:
        problems.append(FieldError(at, _what_it_takes(item), "required"))
    if problems:
        return None, problems
    return (
        _Entry(
            sets_outcome=outcome is not None,
            result=outcome[0] if outcome else None,
            value=outcome[1] if outcome else None,
            sets_note=sets_note,
            note=note,
        ),
        [],
    )


def _outcome(
    item: ChecklistItem, result: object, value: object
) -> tuple[tuple[str | None, Number | None] | None, list[FieldError]]:
    """(result, value) the entry sets, or None when it sets neither."""
    if item.kind == "check":
        problems = []
        if value is not None:
            problems.append(
                FieldError(_pointer(item.key, "value"), _what_it_takes(item), "not_applicable")
            )
        if result is None:
            return None, problems
        problem = _result_problem(item, result, CHECK_RESULTS)
        if problem is not None or problems:
            return None, problems + ([problem] if problem else [])
        return (str(result), None), []
    if result is not None and value is not None:
        message = f"give either a value or result {NOT_APPLICABLE!r}, not both"
        return None, [FieldError(_pointer(item.key), message, "result_and_value")]
    if result is not None:
        problem = _result_problem(item, result, frozenset({NOT_APPLICABLE}))
        return (None, [problem]) if problem else ((NOT_APPLICABLE, None), [])
    if value is None:
        return None, []
    number, problem = _value(item, value)
    return (None, [problem]) if problem else ((None, number), [])


def _result_problem(
    item: ChecklistItem, result: object, allowed: frozenset[str]
) -> FieldError | None:
    at = _pointer(item.key, "result")
    if not isinstance(result, str):
        return FieldError(at, "must be text", "wrong_type")
    if result not in allowed:
        return FieldError(at, _what_it_takes(item), "not_an_option")
    return None


def _value(item: ChecklistItem, value: object) -> tuple[Number | None, FieldError | None]:
    at = _pointer(item.key, "value")
    # bool is an int in Python; a JSON true is not the number 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, FieldError(at, "must be a number", "wrong_type")
    if isinstance(value, float) and not math.isfinite(value):
        return None, FieldError(at, "must be a finite number", "not_finite")
    # Compared before any float(): a 400-digit int would overflow it.
    if not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:
        return None, FieldError(at, f"must be within ±{NUMBER_LIMIT}", "out_of_range")
    if item.kind != "scale":
        return value, None
    if isinstance(value, float) and not value.is_integer():
        return None, FieldError(at, "must be a whole number", "not_integer")
    top = item.scale_max or 0
    if not 0 <= value <= top:
        return None, FieldError(at, f"must be from 0 to {top}", "out_of_range")
    return int(value), None


def _note(item: ChecklistItem, note: object) -> tuple[str | None, list[FieldError]]:
    at = _pointer(item.key, "note")
    if note is None:
        return None, []
    if not isinstance(note, str):
        return None, [FieldError(at, "must be text", "wrong_type")]
    if not _is_utf8(note):
        return None, [FieldError(at, "must be valid Unicode text", "invalid_text")]
    if not _CLEAN_TEXT.fullmatch(note):
        return None, [FieldError(at, "must not contain control characters", "control_characters")]
    text = note.strip()
    if len(text) > NOTE_MAX_LENGTH:
        message = f"must be at most {NOTE_MAX_LENGTH} characters"
        return None, [FieldError(at, message, "too_long")]
    return text or None, []


def _what_it_takes(item: ChecklistItem) -> str:
    if item.kind == "check":
        return "a check item takes result 'pass', 'fail' or 'na'"
    if item.kind == "scale":
        return f"a scale item takes a value from 0 to {item.scale_max}, or result 'na'"
    return "a number item takes a value, or result 'na'"


def _is_utf8(text: str) -> bool:
    # JSON may carry lone surrogates (\ud800); PostgreSQL cannot store them.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pointer(*parts: object) -> str:
    return "/".join((POINTER_ROOT, *(_pointer_part(part) for part in parts)))


def _pointer_part(part: object) -> str:
    try:
        text = str(part)
    except ValueError:  # an int too long to print (only possible from Python, never from JSON)
        text = f"<{type(part).__name__}>"
    escaped = text.replace("~", "~0").replace("/", "~1")
    # An unknown key is echoed back in its pointer; it must survive UTF-8 encoding of the body.
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


# --- merging -------------------------------------------------------------------------------------


def empty_result() -> dict[str, Any]:
    return {"result": None, "value": None, "note": None}


def merge_results(
    checklist: Checklist, stored: Mapping[str, Any], incoming: Mapping[str, Any]
) -> dict[str, Any]:
    """``stored`` with the valid entries of ``incoming`` applied (a new dict; neither argument is
    changed). Entries that :func:`result_problems` would refuse are skipped, never raised on:
    the caller refuses the request on those problems first."""
    merged = dict(stored)
    if not isinstance(incoming, Mapping):
        return merged
    for key, entry in incoming.items():
        item = checklist.item(key) if isinstance(key, str) else None
        if item is None:
            continue
        parsed, problems = _parse(item, entry)
        if parsed is None or problems:
            continue
        merged[item.key] = _applied(_stored_entry(merged.get(item.key)), parsed)
    return merged


def _stored_entry(stored: object) -> dict[str, Any]:
    if not isinstance(stored, Mapping):
        return empty_result()
    return {name: stored.get(name) for name in ENTRY_PROPERTIES}


def _applied(current: dict[str, Any], entry: _Entry) -> dict[str, Any]:
    if entry.sets_outcome:
        current["result"], current["value"] = entry.result, entry.value
    if entry.sets_note:
        current["note"] = entry.note
    return current


# --- judging stored results ----------------------------------------------------------------------


def stored_value(stored: object) -> Number | None:
    """The stored number of a result, or None (also for anything that is not a finite number)."""
    if not isinstance(stored, Mapping):
        return None
    value = stored.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def stored_outcome(item: ChecklistItem, stored: object) -> str | Number | None:
    """What an item's stored result says: 'pass' / 'fail' / 'na', a number, or None when the item
    has no result yet (a note alone is no result)."""
    if not isinstance(stored, Mapping):
        return None
    result = stored.get("result")
    if item.kind == "check":
        return result if isinstance(result, str) and result in CHECK_RESULTS else None
    if result == NOT_APPLICABLE:
        return NOT_APPLICABLE
    return stored_value(stored)


def has_result(item: ChecklistItem, stored: object) -> bool:
    return stored_outcome(item, stored) is not None


def item_failed(item: ChecklistItem, stored: object) -> bool:
    """A check marked fail; a scale below half its maximum; a number outside min..max (the
    bounds themselves pass). N/A and no result never fail."""
    outcome = stored_outcome(item, stored)
    if outcome is None or outcome == NOT_APPLICABLE:
        return False
    if item.kind == "check":
        return outcome == "fail"
    if isinstance(outcome, str):
        return False
    if item.kind == "scale":
        # value < scale_max / 2 without a float division: 2 of 5 fails, 2 of 4 passes.
        return item.scale_max is not None and outcome * 2 < item.scale_max
    return (item.min is not None and outcome < item.min) or (
        item.max is not None and outcome > item.max
    )


def missing(
    checklist: Checklist, results: Mapping[str, Any], photo_keys: Iterable[str]
) -> list[str]:
    """What submit still needs, in checklist order, each item's ``item:<key>`` (no result) before
    its ``photo:<key>`` (photo ``required``, or ``on_fail`` and the item failed, and no photo).

    A required photo is asked for even of an N/A item: "not applicable here" is a claim about
    the store that the photo proves.
    """
    photos = set(photo_keys)
    needs: list[str] = []
    for item in checklist.items:
        stored = results.get(item.key) if isinstance(results, Mapping) else None
        if not has_result(item, stored):
            needs.append(f"item:{item.key}")
        if item.key not in photos and _needs_photo(item, stored):
            needs.append(f"photo:{item.key}")
    return needs


def _needs_photo(item: ChecklistItem, stored: object) -> bool:
    if item.photo == "required":
        return True
    return item.photo == "on_fail" and item_failed(item, stored)


def result_read(item: ChecklistItem, stored: object) -> dict[str, Any]:
    """An item's stored result as the API shows it: ``{result, value, note, failed}``."""
    entry = _stored_entry(stored)
    return {**entry, "failed": item_failed(item, stored)}
