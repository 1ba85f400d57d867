"""Audit checklists (DESIGN §5): the items an admin publishes, the rules they obey, and the frozen
form a published version takes at run time. Pure: no I/O.

As with visit forms, Pydantic checks each value on its own (types, syntax, caps) so its errors
already point at the bad property (``/items/3/weight``); :func:`checklist_problems` checks what
spans properties or items (duplicate keys, ``scale_max`` / ``min`` / ``max`` on the wrong kind,
``min > max``) and returns every problem at once with the same pointers.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt

from backend.errors import FieldError
from backend.forms.definitions import NUMBER_LIMIT, LocalizedHelp, LocalizedText

ItemKind = Literal["check", "scale", "number"]
PhotoRule = Literal["none", "on_fail", "required"]

ITEM_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_ITEMS = 100
MAX_WEIGHT = 100
SCALE_MIN, SCALE_MAX = 2, 10

ItemKey = Annotated[str, Strict(), Field(pattern=ITEM_KEY_PATTERN)]
# Strict numbers: a JSON true is not a weight of 1, nor "5" a scale of five.
Weight = Annotated[float, Strict(), Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]
ScaleMax = Annotated[StrictInt, Field(ge=SCALE_MIN, le=SCALE_MAX)]
# One float type, not int | float: a union would add its branch names to the error pointers
# (/items/0/min/constrained-int). Bounds stay far from what float64 holds exactly, like a visit
# form's.
Bound = Annotated[float, Strict(), Field(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT, allow_inf_nan=False)]


class _Strict(BaseModel):
    # Checklists come from admins through the API: an unknown property is a typo to report.
    model_config = ConfigDict(extra="forbid")


class ChecklistItemInput(_Strict):
    """One item of ``PUT /audit-templates/{key}/checklist``."""

    key: ItemKey
    section: LocalizedText
    label: LocalizedText
    kind: ItemKind
    weight: Weight = 1.0
    # A critical item that fails fails the whole audit, whatever its percentage.
    critical: StrictBool = False
    scale_max: ScaleMax | None = None
    min: Bound | None = None
    max: Bound | None = None
    photo: PhotoRule = "none"
    help: LocalizedHelp | None = None


class ChecklistInput(_Strict):
    """The body of ``PUT /audit-templates/{key}/checklist``: a new version of the checklist."""

    items: Annotated[list[ChecklistItemInput], Field(min_length=1, max_length=MAX_ITEMS)]


# --- rules across properties and items -----------------------------------------------------------


def checklist_problems(checklist: ChecklistInput) -> list[FieldError]:
    """Every problem of a (well-typed) checklist, each with a pointer into ``{items}``."""
    problems: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(checklist.items):
        at = f"/items/{index}"
        if item.key in seen:
            problems.append(FieldError(f"{at}/key", f"{item.key!r} is used twice", "duplicate"))
        seen.add(item.key)
        problems += _scale_problems(at, item)
        problems += _bounds_problems(at, item)
    return problems


def _scale_problems(at: str, item: ChecklistItemInput) -> list[FieldError]:
    if item.kind == "scale" and item.scale_max is None:
        return [FieldError(f"{at}/scale_max", "a scale item needs scale_max", "required")]
    if item.kind != "scale" and item.scale_max is not None:
        return [_not_applicable(f"{at}/scale_max", "scale_max", item.kind)]
    return []


def _bounds_problems(at: str, item: ChecklistItemInput) -> list[FieldError]:
    if item.kind != "number":
        return [
            _not_applicable(f"{at}/{name}", name, item.kind)
            for name, bound in (("min", item.min), ("max", item.max))
            if bound is not None
        ]
    if item.min is None and item.max is None:
        # Without a bound a number could never fail: it would only ever add its weight.
        return [FieldError(f"{at}/min", "a number item needs min, max or both", "required")]
    if item.min is not None and item.max is not None and item.min > item.max:
        return [FieldError(f"{at}/min", "min must not be greater than max", "min_above_max")]
    return []


def _not_applicable(pointer: str, name: str, kind: str) -> FieldError:
    return FieldError(pointer, f"{name} does not apply to a {kind} item", "not_applicable")


# --- the published checklist at run time ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    section: Bilingual
    label: Bilingual
    kind: ItemKind
    weight: float
    critical: bool
    scale_max: int | None
    min: float | None
    max: float | None
    photo: PhotoRule
    help: Bilingual | None


@dataclass(frozen=True, slots=True)
class Section:
    title: Bilingual
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True, slots=True)
class Checklist:
    """One published, immutable version of a template's checklist, which audits score against."""

    template_key: str
    version: int
    items: tuple[ChecklistItem, ...]
    _by_key: Mapping[str, ChecklistItem] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {item.key: item for item in self.items})

    def item(self, key: str) -> ChecklistItem | None:
        return self._by_key.get(key)

    def sections(self) -> tuple[Section, ...]:
        """Items grouped by section, sections in order of first appearance (the audit screen
        shows them so), items in checklist order within each."""
        grouped: dict[Bilingual, list[ChecklistItem]] = {}
        for item in self.items:
            grouped.setdefault(item.section, []).append(item)
        return tuple(Section(title, tuple(items)) for title, items in grouped.items())


def _bilingual(text: LocalizedText | LocalizedHelp) -> Bilingual:
    return Bilingual(text.zh, text.en)


def _runtime_item(item: ChecklistItemInput) -> ChecklistItem:
    return ChecklistItem(
        key=item.key,
        section=_bilingual(item.section),
        label=_bilingual(item.label),
        kind=item.kind,
        weight=item.weight,
        critical=item.critical,
        scale_max=item.scale_max,
        min=item.min,
        max=item.max,
        photo=item.photo,
        help=None if item.help is None else _bilingual(item.help),
    )


def checklist_from_input(template_key: str, version: int, checklist: ChecklistInput) -> Checklist:
    return Checklist(template_key, version, tuple(_runtime_item(i) for i in checklist.items))


def checklist_from_stored(
    template_key: str, version: int, items_json: Sequence[Mapping[str, Any]]
) -> Checklist:
    """The checklist of a stored version (``audit_checklists.items``), parsed by the same model
    it was published through: a row that no longer parses fails loudly, never scores wrong."""
    parsed = ChecklistInput.model_validate({"items": list(items_json)})
    return checklist_from_input(template_key, version, parsed)


def stored_items(checklist: ChecklistInput) -> list[dict[str, Any]]:
    """What ``audit_checklists.items`` holds for a published version: the items as JSON, unset
    options left out (they read back as their defaults)."""
    return [item.model_dump(mode="json", exclude_none=True) for item in checklist.items]


def item_read(item: ChecklistItem) -> dict[str, Any]:
    """One item as the API shows it: every property present, ``null`` when unset."""
    return {
        "key": item.key,
        "section": item.section.as_dict(),
        "label": item.label.as_dict(),
        "kind": item.kind,
        "weight": item.weight,
        "critical": item.critical,
        "scale_max": item.scale_max,
        "min": item.min,
        "max": item.max,
        "photo": item.photo,
        "help": None if item.help is None else item.help.as_dict(),
    }


def checklist_read(checklist: Checklist) -> dict[str, Any]:
    """``{key, version, items: [...]}``: the ``template`` of an audit, and a checklist version."""
    return {
        "key": checklist.template_key,
        "version": checklist.version,
        "items": [item_read(item) for item in checklist.items],
    }
