"""A visit's answers checked against the form version it is pinned to, and read back for the
summary card. Pure: no I/O.

Per version a Pydantic model is built from the definition once and cached by the version's id
(versions are immutable), so validating an answer set is one pass through pydantic-core plus a
walk over the ``visible_if`` conditions. Every problem is reported at once, each with a JSON
pointer into the request body (``/answers/facings/2/facings``).
"""

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import GenericAlias
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from backend.errors import FieldError
from backend.forms.definitions import (
    NUMBER_LIMIT,
    ColumnDefinition,
    FieldDefinition,
    FormVersion,
    Option,
)
from backend.forms.exceptions import InvalidForm
from backend.kit.schemas import NO_CONTROL_CHARS

# Lengths a definition may leave out: generous for notes, bounded for everything.
DEFAULT_MAX_LENGTH = {"text": 500, "textarea": 5_000, "string_list": 200}
DEFAULT_MAX_ITEMS = 100
POINTER_ROOT = "/answers"
CACHE_SIZE = 1_024

# --- the model built from a definition -----------------------------------------------------------


def _no_blank(value: str) -> str | None:
    # A blank answer is no answer: "required" then reports it, and nothing blank is stored.
    return value or None


def _iso_date(value: str) -> str:
    if len(value) != 10:
        raise PydanticCustomError("invalid_date", "must be a date written yyyy-mm-dd")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise PydanticCustomError("invalid_date", "must be a date written yyyy-mm-dd") from None


def _without_blank_items(items: list[str]) -> list[str]:
    return [item for item in items if item]


def _without_repeats(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _text(max_length: int, *, required: bool = False) -> Any:
    # strict: a number is not text; the pattern refuses NUL and other control characters.
    constraints = StringConstraints(
        strip_whitespace=True,
        max_length=max_length,
        min_length=1 if required else None,
        pattern=NO_CONTROL_CHARS,
    )
    return Annotated[str, Strict(), constraints]


def _choice(options: Iterable[Option]) -> Any:
    literal: Any = Literal
    return literal[tuple(option.value for option in options)]


def _whole_bound(bound: float | None, default: int) -> int:
    return default if bound is None else int(bound)


def _scalar(spec: FieldDefinition | ColumnDefinition, *, required: bool = False) -> Any:
    """The pydantic type of one value of a scalar field or table column."""
    kind = spec.type
    if kind in ("text", "textarea"):
        text = _text(spec.max_length or DEFAULT_MAX_LENGTH[kind], required=required)
        return text if required else Annotated[text, AfterValidator(_no_blank)]
    if kind == "number":
        low = -NUMBER_LIMIT if spec.min is None else spec.min
        high = NUMBER_LIMIT if spec.max is None else spec.max
        return Annotated[float, Strict(), Field(ge=low, le=high, allow_inf_nan=False)]
    if kind == "integer":
        low_int = _whole_bound(spec.min, -NUMBER_LIMIT)
        high_int = _whole_bound(spec.max, NUMBER_LIMIT)
        return Annotated[int, Strict(), Field(ge=low_int, le=high_int)]
    if kind == "boolean":
        return Annotated[bool, Strict()]
    if kind == "choice":
        return _choice(spec.options or ())
    if kind == "date":
        return Annotated[str, Strict(), AfterValidator(_iso_date)]
    raise AssertionError(f"not a scalar type: {kind}")


def _list_of(item: Any) -> Any:
    # list[item] with an item type only known at run time.
    return GenericAlias(list, (item,))


def _field_type(field: FieldDefinition) -> Any:
    max_items = field.max_items
    if field.type == "multi_choice":
        items = max_items or len(field.options or ())
        return Annotated[
            _list_of(_choice(field.options or ())),
            Field(max_length=items),
            AfterValidator(_without_repeats),
        ]
    if field.type == "string_list":
        item = _text(field.max_length or DEFAULT_MAX_LENGTH["string_list"])
        return Annotated[
            _list_of(item),
            Field(max_length=max_items or DEFAULT_MAX_ITEMS),
            AfterValidator(_without_blank_items),
        ]
    if field.type == "table":
        row = _row_model(field)
        return Annotated[_list_of(row), Field(max_length=max_items or DEFAULT_MAX_ITEMS)]
    return _scalar(field)


def _row_model(field: FieldDefinition) -> type[BaseModel]:
    columns: dict[str, Any] = {}
    for index, column in enumerate(field.columns or ()):
        kind = _scalar(column, required=column.required)
        if column.required:
            columns[f"c{index}"] = (kind, Field(alias=column.key))
        else:
            columns[f"c{index}"] = (kind | None, Field(default=None, alias=column.key))
    return create_model(f"Row_{field.key}", __config__=_MODEL_CONFIG, **columns)


# Python names are positional (f0, f1...) and keys are aliases: a key such as "json" or
# "model_config" would otherwise collide with BaseModel's own attributes.
_MODEL_CONFIG = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


def build_answers_model(form: FormVersion) -> type[BaseModel]:
    """The Pydantic model of one form version: every field optional (visibility and
    ``required`` are decided afterwards, from the answers themselves), unknown keys refused."""
    fields: dict[str, Any] = {
        f"f{index}": (_field_type(field) | None, Field(default=None, alias=field.key))
        for index, field in enumerate(form.definition.fields)
    }
    name = f"Answers_{form.customer_type}_v{form.version}"
    return create_model(name, __config__=_MODEL_CONFIG, **fields)


# --- the cache -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    model: type[BaseModel]
    fields: tuple[FieldDefinition, ...]
    order: Mapping[str, int]
    # multi_choice field key -> the values of its exclusive options, for fields that have any.
    exclusive: Mapping[str, frozenset[str]]


class _ModelCache:
    """Compiled forms by version id, least recently used dropped first. ``builds`` counts the
    models built, so a test (or a metric) can see the cache doing its job."""

    def __init__(self, size: int, build: Callable[[FormVersion], type[BaseModel]]) -> None:
        self.size = size
        self.build = build
        self.builds = 0
        self._entries: OrderedDict[Any, _Compiled] = OrderedDict()

    def get(self, form: FormVersion) -> _Compiled:
        compiled = self._entries.get(form.id)
        if compiled is not None:
            self._entries.move_to_end(form.id)
            return compiled
        fields = tuple(form.definition.fields)
        compiled = _Compiled(
            self.build(form),
            fields,
            {field.key: index for index, field in enumerate(fields)},
            _exclusive_options(fields),
        )
        self.builds += 1
        self._entries[form.id] = compiled
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return compiled

    def clear(self) -> None:
        self._entries.clear()


MODEL_CACHE = _ModelCache(CACHE_SIZE, build_answers_model)


def _exclusive_options(fields: Iterable[FieldDefinition]) -> dict[str, frozenset[str]]:
    return {
        field.key: values
        for field in fields
        if field.type == "multi_choice"
        and (values := frozenset(o.value for o in field.options or () if o.exclusive))
    }


def answers_model(form: FormVersion) -> type[BaseModel]:
    """The (cached) Pydantic model answers to ``form`` are validated with."""
    return MODEL_CACHE.get(form).model


# --- validation ----------------------------------------------------------------------------------


def validate_answers(
    form: FormVersion, answers: object, *, partial: bool = False
) -> dict[str, Any]:
    """Validate a whole answer set against its pinned form version; return it normalized
    (text stripped, blanks dropped, dates as ``yyyy-mm-dd``, unanswered fields left out).

    Raises :class:`InvalidForm` listing every problem: unknown keys, wrong types, bounds,
    options, visible required fields left unanswered, and answers to hidden fields.
    ``partial=True`` skips only the "required" check, for saving a draft the rep finishes later.
    """
    compiled = MODEL_CACHE.get(form)
    if not isinstance(answers, dict):
        raise InvalidForm(
            form.version,
            [FieldError(POINTER_ROOT, "must be an object of answers by field key", "wrong_type")],
        )
    try:
        values = _dump(compiled.model.model_validate(answers))
        problems: list[FieldError] = []
        bad_keys: set[str] = set()
    except ValidationError as error:
        problems = [_field_error(details, compiled) for details in error.errors()]
        bad_keys = {str(details["loc"][0]) for details in error.errors() if details["loc"]}
        values = _valid_part(compiled, answers, bad_keys)
    problems += _exclusive_problems(compiled, values)
    problems += _visibility_problems(compiled, values, bad_keys, partial=partial)
    if problems:
        problems.sort(key=lambda problem: _problem_order(compiled, problem))
        raise InvalidForm(form.version, problems)
    return values


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True)


def _valid_part(compiled: _Compiled, answers: dict[Any, Any], bad_keys: set[str]) -> dict[str, Any]:
    """The answers that did validate, normalized, so visibility can still be judged on them."""
    rest = {key: value for key, value in answers.items() if key not in bad_keys}
    try:
        return _dump(compiled.model.model_validate(rest))
    except ValidationError:  # cannot happen once the bad keys are gone; judge nothing then
        return {}


def _exclusive_problems(compiled: _Compiled, values: Mapping[str, Any]) -> list[FieldError]:
    """A multi_choice answer that has an exclusive option ("没有") with any other choice."""
    problems: list[FieldError] = []
    for key, exclusive in compiled.exclusive.items():
        chosen = values.get(key)
        if not isinstance(chosen, list) or len(chosen) < 2:
            continue
        alone = next((value for value in chosen if value in exclusive), None)
        if alone is not None:
            problems.append(
                FieldError(
                    _pointer(key),
                    f"{alone!r} excludes every other choice: choose it alone",
                    "exclusive_option",
                )
            )
    return problems


def _visibility_problems(
    compiled: _Compiled, values: Mapping[str, Any], bad_keys: set[str], *, partial: bool
) -> list[FieldError]:
    problems: list[FieldError] = []
    for field, visible in zip(
        compiled.fields, _visibility(compiled, values, bad_keys), strict=True
    ):
        if visible is None or field.key in bad_keys:
            continue  # decided by an answer that is itself wrong: report that one only
        answered = field.key in values
        if visible and field.required and not answered and not partial:
            problems.append(FieldError(_pointer(field.key), "is required", "required"))
        elif not visible and answered:
            condition = field.visible_if
            controller = condition.field if condition else ""
            problems.append(
                FieldError(
                    _pointer(field.key),
                    f"is hidden by the answer to {controller!r} and must be left out",
                    "hidden",
                )
            )
    return problems


def _visibility(
    compiled: _Compiled, values: Mapping[str, Any], unknown: Iterable[str] = ()
) -> list[bool | None]:
    """Per field in form order: shown, hidden, or None when a wrong answer decides it.

    A field whose controlling field is hidden is hidden too, so a chain of conditions
    collapses as a rep would expect.
    """
    shown: dict[str, bool | None] = dict.fromkeys(unknown)
    result: list[bool | None] = []
    for field in compiled.fields:
        condition = field.visible_if
        visible: bool | None
        if condition is None:
            visible = True
        else:
            controller_shown = shown.get(condition.field, True)
            if controller_shown is None:
                visible = None
            else:
                visible = controller_shown and _holds(
                    values.get(condition.field), condition.expected()
                )
        if field.key not in shown or shown[field.key] is not None:
            shown[field.key] = visible
        result.append(visible)
    return result


def _holds(answer: Any, expected: list[Any]) -> bool:
    if answer is None:
        return False
    if isinstance(answer, list):  # multi_choice: any chosen option counts
        return any(_same(item, value) for item in answer for value in expected)
    return any(_same(answer, value) for value in expected)


def _same(answer: Any, value: Any) -> bool:
    # True == 1 in Python; a condition on a boolean must not match a number, nor the reverse.
    return isinstance(answer, bool) == isinstance(value, bool) and answer == value


def visible_keys(form: FormVersion, answers: Mapping[str, Any]) -> set[str]:
    """Keys of the fields that ``answers`` (already validated) leave visible."""
    compiled = MODEL_CACHE.get(form)
    return {
        field.key
        for field, visible in zip(compiled.fields, _visibility(compiled, answers), strict=True)
        if visible
    }


# --- errors --------------------------------------------------------------------------------------

_CODES: dict[str, tuple[str, str | None]] = {
    "missing": ("required", "is required"),
    "string_too_short": ("required", "is required"),
    "extra_forbidden": ("unknown_field", "is not a field of this form"),
    "literal_error": ("not_an_option", None),
    "greater_than_equal": ("out_of_range", None),
    "less_than_equal": ("out_of_range", None),
    "finite_number": ("out_of_range", None),
    "string_too_long": ("too_long", None),
    "too_long": ("too_many_items", None),
    "string_pattern_mismatch": ("control_characters", "must not contain control characters"),
    "invalid_date": ("invalid_date", None),
}


def _field_error(details: ErrorDetails, compiled: _Compiled) -> FieldError:
    kind = details["type"]
    code, message = _CODES.get(kind, ("wrong_type", None))
    if kind == "extra_forbidden" and len(details["loc"]) == 1:
        message = "is not a field of this form"
    elif kind == "extra_forbidden":
        message = "is not a column of this table"
    return FieldError(_pointer(*details["loc"]), message or details["msg"], code)


def _pointer(*parts: str | int) -> str:
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/".join((POINTER_ROOT, *escaped))


def _problem_order(compiled: _Compiled, problem: FieldError) -> tuple[int, str]:
    """Problems in form order (unknown keys last), so the list reads like the form."""
    pointer = str(problem["pointer"])
    key = pointer.removeprefix(POINTER_ROOT + "/").split("/", 1)[0]
    key = key.replace("~1", "/").replace("~0", "~")
    return compiled.order.get(key, len(compiled.order)), pointer


# --- reading answers back (summary card) ---------------------------------------------------------

YES_NO = {True: {"zh": "是", "en": "Yes"}, False: {"zh": "否", "en": "No"}}
LIST_SEPARATOR = {"zh": "、", "en": ", "}
ROW_SEPARATOR = {"zh": "；", "en": "; "}
CELL_SEPARATOR = " × "
LANGUAGES = ("zh", "en")


def answer_rows(form: FormVersion, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Answered, visible fields in form order, each with a human display in both languages:
    ``{key, label: {zh, en}, type, value, display: {zh, en}}``."""
    shown = visible_keys(form, answers)
    return [
        {
            "key": field.key,
            "label": field.label.model_dump(),
            "type": field.type,
            "value": answers[field.key],
            "display": {lang: _display(field, answers[field.key], lang) for lang in LANGUAGES},
        }
        for field in form.definition.fields
        if field.key in shown and answers.get(field.key) is not None
    ]


def profile_tags(form: FormVersion, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Customer-profile tags of the chosen options: ``{tag, field, label: {zh, en}}``, each tag
    once, in form order."""
    shown = visible_keys(form, answers)
    tags: dict[str, dict[str, Any]] = {}
    for field in form.definition.fields:
        if field.key not in shown or not field.options:
            continue
        for option in _chosen(field.options, answers.get(field.key)):
            if option.tag and option.tag not in tags:
                tags[option.tag] = {
                    "tag": option.tag,
                    "field": field.key,
                    "label": option.label.model_dump(),
                }
    return list(tags.values())


def pending_items(form: FormVersion, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Answers of ``pending`` fields, to follow up on: ``{key, label: {zh, en}, items: [str]}``.

    Pending fields hold what the rep typed (text, lists, tables), so the items read the same in
    both languages; a table cell that is a choice or a yes/no shows its Chinese label.
    """
    shown = visible_keys(form, answers)
    pending: list[dict[str, Any]] = []
    for field in form.definition.fields:
        value = answers.get(field.key)
        if not field.pending or field.key not in shown or value in (None, "", []):
            continue
        pending.append(
            {"key": field.key, "label": field.label.model_dump(), "items": _items(field, value)}
        )
    return pending


def _items(field: FieldDefinition, value: Any) -> list[str]:
    if field.type == "string_list":
        return [str(item) for item in value]
    if field.type == "table":
        return [_row_display(field, row, "zh") for row in value]
    return [line.strip() for line in str(value).splitlines() if line.strip()]


def _chosen(options: Iterable[Option], value: Any) -> list[Option]:
    chosen = value if isinstance(value, list) else [value]
    by_value = {option.value: option for option in options}
    return [by_value[item] for item in chosen if item in by_value]


def _display(spec: FieldDefinition | ColumnDefinition, value: Any, lang: str) -> str:
    kind = spec.type
    if kind == "boolean":
        return YES_NO[bool(value)][lang]
    if kind in ("choice", "multi_choice"):
        labels = [getattr(option.label, lang) for option in _chosen(spec.options or (), value)]
        return LIST_SEPARATOR[lang].join(labels)
    if kind == "number":
        return _number(value)
    if kind == "string_list":
        return LIST_SEPARATOR[lang].join(str(item) for item in value)
    if kind == "table" and isinstance(spec, FieldDefinition):
        return ROW_SEPARATOR[lang].join(_row_display(spec, row, lang) for row in value)
    return str(value)


def _row_display(field: FieldDefinition, row: Mapping[str, Any], lang: str) -> str:
    cells = [
        _display(column, row[column.key], lang)
        for column in field.columns or ()
        if row.get(column.key) is not None
    ]
    return CELL_SEPARATOR.join(cells)


def _number(value: float) -> str:
    # 35.0 reads as "35"; other values keep their digits, never in exponent notation.
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    text = repr(float(value))
    return f"{value:.10f}".rstrip("0").rstrip(".") if "e" in text else text
