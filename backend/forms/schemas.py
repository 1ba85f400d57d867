from typing import Annotated

from pydantic import StringConstraints

from backend.forms.definitions import FormDefinition, FormDefinitionInput
from backend.kit.schemas import CleanStr, Name, ResponseSchema, Schema

TypeKey = Annotated[
    CleanStr,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9_]{1,39}$"),
]

# The body of PUT /customer-types/{key}/visit-form, and what the visit-form routes return.
VisitFormUpdate = FormDefinitionInput
VisitFormRead = FormDefinition


class CustomerTypeCreate(Schema):
    key: TypeKey
    name: Name
    name_en: Name | None = None


class CustomerTypeRead(ResponseSchema):
    key: str
    name: str
    name_en: str | None
    # The current version; every customer type has one (a new type starts with an empty form).
    visit_form: FormDefinition | None = None
