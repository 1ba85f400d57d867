"""Customer types and their versioned visit forms.

A form version is immutable: publishing a change adds version N+1 and every visit keeps the
version it began with. The API the visits module uses:

- :func:`current_form` / :func:`form_version` load a :class:`FormVersion`;
- :func:`validate_answers`, :func:`answer_rows`, :func:`profile_tags`, :func:`pending_items`
  (pure, from :mod:`backend.forms.answers`) check answers and read them back for summaries.
"""

import re
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import SqlConnection
from backend.errors import Conflict, NotFound
from backend.events import service as events
from backend.events.catalog import CustomerTypeCreated, VisitFormPublished
from backend.forms import repository
from backend.forms.answers import answer_rows, pending_items, profile_tags, validate_answers
from backend.forms.defaults import DEFAULT_CUSTOMER_TYPES, default_form
from backend.forms.definitions import (
    FieldDefinition,
    FormDefinition,
    FormDefinitionInput,
    FormVersion,
    definition_problems,
)
from backend.forms.exceptions import InvalidForm, InvalidFormDefinition
from backend.forms.schemas import CustomerTypeCreate
from backend.models import CustomerType, VisitForm

__all__ = [
    "CustomerTypeWithForm",
    "FormDefinition",
    "FormVersion",
    "InvalidForm",
    "answer_rows",
    "create_customer_type",
    "create_default_customer_types",
    "current_form",
    "customer_type_keys",
    "find_customer_type",
    "form_version",
    "get_customer_type",
    "list_customer_types",
    "pending_items",
    "profile_tags",
    "publish_form",
    "validate_answers",
]

# Anything else cannot be a key: answer "not found" without asking the database (a NUL byte
# in a path would otherwise reach PostgreSQL, which refuses it with an error).
_KEY = re.compile(r"[a-z][a-z0-9_]{1,39}")


@dataclass(frozen=True)
class CustomerTypeWithForm:
    key: str
    name: str
    name_en: str | None
    visit_form: FormDefinition | None


# --- customer types ------------------------------------------------------------------------------


async def list_customer_types(
    session: AsyncSession, org_id: uuid.UUID
) -> list[CustomerTypeWithForm]:
    """The org's customer types, oldest first, each with its current visit form."""
    types = await repository.customer_types(session, org_id)
    forms = await _current_forms(session, org_id)
    return [
        CustomerTypeWithForm(
            t.key, t.name, t.name_en, forms[t.key].definition if t.key in forms else None
        )
        for t in types
    ]


async def get_customer_type(session: AsyncSession, org_id: uuid.UUID, key: str) -> CustomerType:
    found = await find_customer_type(session, org_id, key)
    if found is None:
        raise NotFound("No such customer type.")
    return found


async def find_customer_type(
    session: AsyncSession, org_id: uuid.UUID, key: str, *, lock: bool = False
) -> CustomerType | None:
    if not _KEY.fullmatch(key):
        return None
    return await repository.customer_type(session, org_id, key, lock=lock)


async def customer_type_keys(session: AsyncSession, org_id: uuid.UUID) -> set[str]:
    return await repository.customer_type_keys(session, org_id)


async def create_customer_type(
    session: AsyncSession,
    org_id: uuid.UUID,
    data: CustomerTypeCreate,
    actor_id: uuid.UUID | None,
    *,
    fields: Sequence[FieldDefinition] = (),
) -> CustomerTypeWithForm:
    """A customer type with version 1 of its visit form (empty unless ``fields`` are given), so
    that every type always has a form a visit can pin."""
    if await find_customer_type(session, org_id, data.key) is not None:
        raise Conflict(f"The customer type {data.key!r} already exists.", field="key")
    customer_type = CustomerType(org_id=org_id, key=data.key, name=data.name, name_en=data.name_en)
    session.add(customer_type)
    await session.flush()
    await events.record(
        session,
        CustomerTypeCreated(key=data.key),
        org_id=org_id,
        subject_id=customer_type.id,
        actor_id=actor_id,
    )
    form = await _insert_version(session, org_id, data.key, 1, fields, actor_id)
    return CustomerTypeWithForm(data.key, data.name, data.name_en, form.definition)


async def create_default_customer_types(
    session: AsyncSession, org_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """Pharmacy, clinic and supermarket, each with a bilingual visit form (version 1)."""
    for default in DEFAULT_CUSTOMER_TYPES:
        await create_customer_type(
            session,
            org_id,
            CustomerTypeCreate(key=default.key, name=default.name, name_en=default.name_en),
            actor_id,
            fields=default_form(default.key).fields,
        )


# --- visit form versions -------------------------------------------------------------------------


async def current_form(session: AsyncSession, org_id: uuid.UUID, customer_type: str) -> FormVersion:
    """The latest version of the customer type's visit form (the one a new visit pins).

    Raises NotFound for a customer type the org does not have.
    """
    if not _KEY.fullmatch(customer_type):
        raise NotFound("No such customer type.")
    row = await repository.latest_form(session, org_id, customer_type)
    if row is None:
        raise NotFound("No such customer type.")
    return _form_version(row)


async def form_version(
    session: AsyncSession, org_id: uuid.UUID, customer_type: str, version: int
) -> FormVersion:
    """One version of the customer type's visit form (a visit renders with the one it pinned).

    Raises NotFound for an unknown customer type or version.
    """
    if not _KEY.fullmatch(customer_type):
        raise NotFound("No such customer type.")
    row = await repository.form_version(session, org_id, customer_type, version)
    if row is None:
        raise NotFound(f"The customer type {customer_type!r} has no visit form version {version}.")
    return _form_version(row)


async def publish_form(
    session: AsyncSession,
    org_id: uuid.UUID,
    customer_type: str,
    data: FormDefinitionInput,
    actor_id: uuid.UUID | None,
) -> FormVersion:
    """Publish ``data.fields`` as the next version of the customer type's visit form.

    Fields identical to the current version publish nothing and return it (PUT stays
    idempotent: a retried request does not pile up versions). ``data.version``, when given,
    must be the current version (409 otherwise: someone published meanwhile).
    """
    problems = definition_problems(data.fields)
    if problems:
        raise InvalidFormDefinition(problems)
    # The lock serialises publishers of one type, so two cannot both claim version N+1.
    if await find_customer_type(session, org_id, customer_type, lock=True) is None:
        raise NotFound("No such customer type.")
    current = await current_form(session, org_id, customer_type)
    if data.version is not None and data.version != current.version:
        raise Conflict(
            f"The form changed meanwhile: version {current.version} is current, "
            f"this edit started from version {data.version}.",
            current_version=current.version,
        )
    if _stored_fields(data.fields) == _stored_fields(current.definition.fields):
        return current
    return await _insert_version(
        session, org_id, customer_type, current.version + 1, data.fields, actor_id
    )


async def _insert_version(
    session: AsyncSession,
    org_id: uuid.UUID,
    customer_type: str,
    version: int,
    fields: Sequence[FieldDefinition],
    actor_id: uuid.UUID | None,
) -> FormVersion:
    row = VisitForm(
        org_id=org_id,
        customer_type=customer_type,
        version=version,
        fields=_stored_fields(fields),
        created_by=actor_id,
    )
    session.add(row)
    await session.flush()
    await events.record(
        session,
        VisitFormPublished(customer_type=customer_type, version=version, field_count=len(fields)),
        org_id=org_id,
        subject_id=row.id,
        actor_id=actor_id,
    )
    return _form_version(row)


async def _current_forms(session: AsyncSession, org_id: uuid.UUID) -> dict[str, FormVersion]:
    rows = await repository.latest_forms(session, org_id)
    return {row.customer_type: _form_version(row) for row in rows}


def _stored_fields(fields: Sequence[FieldDefinition]) -> list[dict[str, object]]:
    return [field.model_dump(mode="json", by_alias=True, exclude_defaults=True) for field in fields]


# Versions never change, so a parsed definition can be reused by id (parsing a 30-field form
# costs more than the query that loads it).
_PARSED: OrderedDict[uuid.UUID, FormVersion] = OrderedDict()
_PARSED_SIZE = 1_024


async def form_version_by_id(
    connection: SqlConnection, org_id: uuid.UUID, form_id: uuid.UUID
) -> FormVersion:
    """A form version by its id, for the check-in's SQL path; versions never change, so one
    parsed before costs no query."""
    parsed = _PARSED.get(form_id)
    if parsed is not None:
        return parsed
    row = await repository.form_row_by_id(connection, org_id, form_id)
    if row is None:
        raise NotFound("No such form version.")
    return _parsed(form_id, row.customer_type, row.version, row.fields)


def _form_version(row: VisitForm) -> FormVersion:
    return _parsed(row.id, row.customer_type, row.version, row.fields)


def _parsed(
    form_id: uuid.UUID, customer_type: str, version: int, fields: list[dict[str, Any]]
) -> FormVersion:
    parsed = _PARSED.get(form_id)
    if parsed is None:
        definition = FormDefinition.model_validate({"version": version, "fields": fields})
        parsed = FormVersion(form_id, customer_type, version, definition)
        _PARSED[form_id] = parsed
        if len(_PARSED) > _PARSED_SIZE:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(form_id)
    return parsed
