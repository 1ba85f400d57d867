from typing import Annotated, Any

from pydantic import StringConstraints

from backend.kit.schemas import CleanStr, Name, ResponseSchema, Schema

TypeKey = Annotated[
    CleanStr,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9_]{1,39}$"),
]


class CustomerTypeCreate(Schema):
    key: TypeKey
    name: Name
    name_en: Name | None = None


class CustomerTypeRead(ResponseSchema):
    key: str
    name: str
    name_en: str | None
    # Filled in by the forms module; null until a visit form is defined for the type.
    visit_form: dict[str, Any] | None = None
