"""Visit form definitions (DESIGN §5): their shape, and the rules a definition must obey.

Pure: no I/O. Pydantic checks each value on its own (types, syntax, lengths, caps) so its errors
already point at the bad property (``/fields/3/type``); :func:`definition_problems` checks what
spans properties or fields (duplicate keys, options that a type needs or refuses, ``min > max``,
``visible_if`` on an earlier field...) and returns every problem at once with the same pointers.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from backend.errors import FieldError
from backend.kit.schemas import CleanStr

FieldType = Literal[
    "text",
    "textarea",
    "number",
    "integer",
    "boolean",
    "choice",
    "multi_choice",
    "date",
    "string_list",
    "table",
]
# A table cell holds one value: these are the types a column may have.
ColumnType = Literal["text", "number", "integer", "boolean", "choice", "date"]

CHOICE_TYPES = frozenset({"choice", "multi_choice"})
NUMBER_TYPES = frozenset({"number", "integer"})
TEXT_TYPES = frozenset({"text", "textarea", "string_list"})
LIST_TYPES = frozenset({"multi_choice", "string_list", "table"})
# Free text a rep typed in: the only kinds of answer that read as a list of things to follow up.
PENDING_TYPES = frozenset({"text", "textarea", "string_list", "table"})
# A condition compares a field's answer with a value; long text, lists and tables do not compare.
CONDITION_TYPES = frozenset({"text", "number", "integer", "boolean", "choice", "multi_choice"})

# Numbers stay far from what float64 and bigint can hold, so bounds never overflow anywhere.
NUMBER_LIMIT = 1_000_000_000_000
MAX_FIELDS = 200
MAX_OPTIONS = 200
MAX_COLUMNS = 20
# A cap on the whole form so 200 fields × 200 options cannot make a multi-megabyte definition.
MAX_OPTIONS_PER_FORM = 2_000
MAX_TEXT_LENGTH = 10_000
MAX_ITEMS = 500

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Key = Annotated[CleanStr, Field(pattern=KEY_PATTERN)]
Label = Annotated[CleanStr, Field(min_length=1, max_length=200)]
HelpText = Annotated[CleanStr, Field(max_length=1_000)]
OptionValue = Annotated[CleanStr, Field(min_length=1, max_length=100)]
WholeBound = Annotated[StrictInt, Field(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT)]
FloatBound = Annotated[float, Field(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT, allow_inf_nan=False)]
# Whole numbers stay ints (so an integer field's bounds read back as 0, not 0.0).
Bound = WholeBound | FloatBound
ConditionValue = StrictBool | WholeBound | FloatBound | OptionValue


class _Strict(BaseModel):
    # Definitions come from admins through the API: an unknown property is a typo to report.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class LocalizedText(_Strict):
    """A label in Chinese and English; an English label left out falls back to the Chinese."""

    zh: Label
    en: Label

    @model_validator(mode="before")
    @classmethod
    def _english_falls_back_to_chinese(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("en") in (None, "") and "zh" in data:
            return {**data, "en": data["zh"]}
        return data


class LocalizedHelp(_Strict):
    zh: HelpText = ""
    en: HelpText = ""


class Option(_Strict):
    value: OptionValue
    label: LocalizedText
    # Chosen, it becomes a customer-profile tag on the visit's summary card.
    tag: Key | None = None
    # Of a multi_choice field only: chosen, it excludes every other choice ("没有", "none").
    exclusive: StrictBool = False


class VisibleIf(_Strict):
    """Show the field only when an earlier field's answer equals a value (or is in a list)."""

    field: Key
    equals: ConditionValue | None = None
    in_: Annotated[list[ConditionValue], Field(min_length=1, max_length=MAX_OPTIONS)] | None = (
        Field(default=None, alias="in")
    )

    @model_validator(mode="after")
    def _exactly_one_condition(self) -> "VisibleIf":
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("give exactly one of 'equals' and 'in'")
        return self

    def expected(self) -> list[Any]:
        return [self.equals] if self.in_ is None else list(self.in_)


class ColumnDefinition(_Strict):
    key: Key
    type: ColumnType
    label: LocalizedText
    required: bool = False
    min: Bound | None = None
    max: Bound | None = None
    max_length: Annotated[int, Field(ge=1, le=MAX_TEXT_LENGTH)] | None = None
    options: Annotated[list[Option], Field(max_length=MAX_OPTIONS)] | None = None


class FieldDefinition(_Strict):
    key: Key
    type: FieldType
    label: LocalizedText
    required: bool = False
    help: LocalizedHelp | None = None
    options: Annotated[list[Option], Field(max_length=MAX_OPTIONS)] | None = None
    min: Bound | None = None
    max: Bound | None = None
    max_length: Annotated[int, Field(ge=1, le=MAX_TEXT_LENGTH)] | None = None
    max_items: Annotated[int, Field(ge=1, le=MAX_ITEMS)] | None = None
    columns: (
        Annotated[list[ColumnDefinition], Field(min_length=1, max_length=MAX_COLUMNS)] | None
    ) = None
    visible_if: VisibleIf | None = None
    # An answer to follow up on (e.g. the out-of-stock list): the summary card lists it.
    pending: bool = False


Fields = Annotated[list[FieldDefinition], Field(max_length=MAX_FIELDS)]


class FormDefinitionInput(_Strict):
    """The body of ``PUT /customer-types/{key}/visit-form``.

    ``version``, when given, is the version the edit started from: publishing over a newer
    version that someone else made meanwhile is refused (409) rather than silently lost.
    """

    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    fields: Fields


class FormDefinition(_Strict):
    """A published visit form: what the API returns and what answers are validated against."""

    version: int
    fields: list[FieldDefinition]

    def field(self, key: str) -> FieldDefinition | None:
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True)
class FormVersion:
    """One published, immutable version of a customer type's visit form.

    ``id`` identifies the version for good (versions are never edited), which is what lets the
    answers module cache the validator it builds for it by ``id``.
    """

    id: uuid.UUID
    customer_type: str
    version: int
    definition: FormDefinition


# --- rules across properties and fields ----------------------------------------------------------


def definition_problems(fields: Sequence[FieldDefinition]) -> list[FieldError]:
    """Every problem of a (well-typed) list of fields, each with a pointer into ``{fields}``."""
    problems: list[FieldError] = []
    seen: dict[str, int] = {}
    options_in_form = 0
    for index, field in enumerate(fields):
        at = f"/fields/{index}"
        if field.key in seen:
            problems.append(_duplicate(f"{at}/key", field.key))
        problems += _type_properties_problems(at, field)
        if field.columns is not None and field.type == "table":
            problems += _columns_problems(at, field.columns)
        if field.pending and field.type not in PENDING_TYPES:
            problems.append(_not_applicable(f"{at}/pending", "pending", field.type))
        if field.visible_if is not None:
            problems += _condition_problems(at, field.visible_if, fields, seen)
        options_in_form += len(field.options or ())
        seen.setdefault(field.key, index)
    if options_in_form > MAX_OPTIONS_PER_FORM:
        problems.append(
            FieldError(
                "/fields",
                f"a form may have at most {MAX_OPTIONS_PER_FORM} options in all",
                "too_many_options",
            )
        )
    return problems


def _type_properties_problems(
    at: str, field: FieldDefinition | ColumnDefinition
) -> list[FieldError]:
    """Properties a type needs (options for choices, columns for tables) or cannot use."""
    kind = field.type
    problems: list[FieldError] = []
    if kind in CHOICE_TYPES:
        if not field.options:
            problems.append(
                FieldError(f"{at}/options", f"a {kind} field needs options", "required")
            )
        else:
            problems += _options_problems(at, field.options)
            if kind != "multi_choice" or not isinstance(field, FieldDefinition):
                # One answer is chosen anyway: "excludes the others" would mean nothing.
                problems += [
                    _not_applicable(f"{at}/options/{index}/exclusive", "exclusive", kind)
                    for index, option in enumerate(field.options)
                    if option.exclusive
                ]
    elif field.options is not None:
        problems.append(_not_applicable(f"{at}/options", "options", kind))
    if kind in NUMBER_TYPES:
        problems += _bounds_problems(at, field.min, field.max, integral=kind == "integer")
    else:
        problems += [
            _not_applicable(f"{at}/{name}", name, kind)
            for name in ("min", "max")
            if getattr(field, name) is not None
        ]
    if field.max_length is not None and kind not in TEXT_TYPES:
        problems.append(_not_applicable(f"{at}/max_length", "max_length", kind))
    if isinstance(field, FieldDefinition):
        if field.max_items is not None and kind not in LIST_TYPES:
            problems.append(_not_applicable(f"{at}/max_items", "max_items", kind))
        if kind == "table" and field.columns is None:
            problems.append(FieldError(f"{at}/columns", "a table field needs columns", "required"))
        elif kind != "table" and field.columns is not None:
            problems.append(_not_applicable(f"{at}/columns", "columns", kind))
    return problems


def _options_problems(at: str, options: Sequence[Option]) -> list[FieldError]:
    seen: set[str] = set()
    problems: list[FieldError] = []
    for index, option in enumerate(options):
        if option.value in seen:
            problems.append(_duplicate(f"{at}/options/{index}/value", option.value))
        seen.add(option.value)
    return problems


def _bounds_problems(
    at: str, low: float | None, high: float | None, *, integral: bool
) -> list[FieldError]:
    problems: list[FieldError] = []
    if integral:
        problems += [
            FieldError(f"{at}/{name}", "an integer field needs whole-number bounds", "not_integer")
            for name, bound in (("min", low), ("max", high))
            if bound is not None and not float(bound).is_integer()
        ]
    if low is not None and high is not None and low > high:
        problems.append(
            FieldError(f"{at}/min", "min must not be greater than max", "min_above_max")
        )
    return problems


def _columns_problems(at: str, columns: Sequence[ColumnDefinition]) -> list[FieldError]:
    problems: list[FieldError] = []
    seen: set[str] = set()
    for index, column in enumerate(columns):
        column_at = f"{at}/columns/{index}"
        if column.key in seen:
            problems.append(_duplicate(f"{column_at}/key", column.key))
        seen.add(column.key)
        problems += _type_properties_problems(column_at, column)
    return problems


def _condition_problems(
    at: str, condition: VisibleIf, fields: Sequence[FieldDefinition], earlier: dict[str, int]
) -> list[FieldError]:
    """A condition must look back: an earlier field is answered first and cycles are impossible."""
    if condition.field not in earlier:
        later = any(f.key == condition.field for f in fields)
        message = (
            "visible_if must refer to an earlier field"
            if later
            else f"there is no field {condition.field!r}"
        )
        code = "later_field" if later else "unknown_field"
        return [FieldError(f"{at}/visible_if/field", message, code)]
    target = fields[earlier[condition.field]]
    if target.type not in CONDITION_TYPES:
        return [
            FieldError(
                f"{at}/visible_if/field",
                f"a condition cannot test a {target.type} field",
                "unsupported",
            )
        ]
    return [
        FieldError(f"{at}/visible_if/{where}", message, code)
        for where, value in _condition_values(condition)
        for message, code in _value_problem(target, value)
    ]


def _condition_values(condition: VisibleIf) -> Iterable[tuple[str, Any]]:
    if condition.in_ is None:
        return [("equals", condition.equals)]
    return [(f"in/{index}", value) for index, value in enumerate(condition.in_)]


def _value_problem(target: FieldDefinition, value: Any) -> list[tuple[str, str]]:
    """Whether ``value`` is something ``target``'s answer could ever equal."""
    if target.type in CHOICE_TYPES:
        values = {option.value for option in target.options or ()}
        if value not in values or not isinstance(value, str):
            return [(f"{value!r} is not an option of {target.key!r}", "not_an_option")]
        return []
    fits = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "text": isinstance(value, str),
    }[target.type]
    if not fits:
        return [(f"{target.key!r} is a {target.type} field: compare it with one", "wrong_type")]
    return []


def _duplicate(pointer: str, value: str) -> FieldError:
    return FieldError(pointer, f"{value!r} is used twice", "duplicate")


def _not_applicable(pointer: str, name: str, kind: str) -> FieldError:
    return FieldError(pointer, f"{name} does not apply to a {kind} field", "not_applicable")
