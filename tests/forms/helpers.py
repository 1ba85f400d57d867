"""Building form versions in memory for the pure tests (no database)."""

import uuid
from typing import Any

import pytest

from backend.forms.answers import validate_answers
from backend.forms.definitions import FormDefinition, FormDefinitionInput, FormVersion
from backend.forms.exceptions import InvalidForm


def label(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


def field(key: str, type: str, **props: Any) -> dict[str, Any]:
    return {"key": key, "type": type, "label": label(key), **props}


def options(*values: str, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    tags = tags or {}
    return [
        {
            "value": v,
            "label": {"zh": f"{v}-zh", "en": f"{v}-en"},
            **({"tag": tags[v]} if v in tags else {}),
        }
        for v in values
    ]


def form(*fields: dict[str, Any], version: int = 1, customer_type: str = "pharmacy") -> FormVersion:
    """A form version with a fresh id (so each test gets its own cached model)."""
    parsed = FormDefinitionInput.model_validate({"fields": list(fields)})
    definition = FormDefinition(version=version, fields=parsed.fields)
    return FormVersion(uuid.uuid4(), customer_type, version, definition)


def problems(form_version: FormVersion, answers: object) -> list[tuple[str, str]]:
    """The (pointer, code) pairs validation reports; fails if the answers are accepted."""
    with pytest.raises(InvalidForm) as caught:
        validate_answers(form_version, answers)
    assert caught.value.status == 422 and caught.value.code == "invalid_form"
    return [(str(e["pointer"]), str(e["code"])) for e in caught.value.errors]
