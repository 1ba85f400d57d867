"""SQL of the forms domain (customer types and their visit-form versions), every statement
scoped by the organization. ``FORM_BY_ID_SQL`` runs on a plain asyncpg connection: the
check-in's hot path reads the form version it pins that way."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import SqlConnection
from backend.models import CustomerType, VisitForm


async def customer_types(session: AsyncSession, org_id: uuid.UUID) -> Sequence[CustomerType]:
    """The org's customer types, oldest first."""
    stmt = (
        select(CustomerType)
        .where(CustomerType.org_id == org_id)
        .order_by(CustomerType.created_at, CustomerType.key)
    )
    return (await session.scalars(stmt)).all()


async def customer_type(
    session: AsyncSession, org_id: uuid.UUID, key: str, *, lock: bool = False
) -> CustomerType | None:
    stmt = select(CustomerType).where(CustomerType.org_id == org_id, CustomerType.key == key)
    return await session.scalar(stmt.with_for_update() if lock else stmt)


async def customer_type_keys(session: AsyncSession, org_id: uuid.UUID) -> set[str]:
    return set(await session.scalars(select(CustomerType.key).where(CustomerType.org_id == org_id)))


async def latest_form(
    session: AsyncSession, org_id: uuid.UUID, customer_type: str
) -> VisitForm | None:
    return await session.scalar(
        select(VisitForm)
        .where(VisitForm.org_id == org_id, VisitForm.customer_type == customer_type)
        .order_by(VisitForm.version.desc())
        .limit(1)
    )


async def form_version(
    session: AsyncSession, org_id: uuid.UUID, customer_type: str, version: int
) -> VisitForm | None:
    return await session.scalar(
        select(VisitForm).where(
            VisitForm.org_id == org_id,
            VisitForm.customer_type == customer_type,
            VisitForm.version == version,
        )
    )


async def latest_forms(session: AsyncSession, org_id: uuid.UUID) -> Sequence[VisitForm]:
    """The latest version of each customer type's form."""
    stmt = (
        select(VisitForm)
        .where(VisitForm.org_id == org_id)
        .ext(distinct_on(VisitForm.customer_type))
        .order_by(VisitForm.customer_type, VisitForm.version.desc())
    )
    return (await session.scalars(stmt)).all()


FORM_BY_ID_SQL = (
    "SELECT customer_type, version, fields::text AS fields FROM visit_forms"
    " WHERE org_id = $1 AND id = $2"
)


@dataclass(frozen=True, slots=True)
class FormRow:
    """A stored form version as the plain-SQL path reads it (``fields`` not yet parsed)."""

    customer_type: str
    version: int
    fields: list[dict[str, Any]]


async def form_row_by_id(
    connection: SqlConnection, org_id: uuid.UUID, form_id: uuid.UUID
) -> FormRow | None:
    row = await connection.fetchrow(FORM_BY_ID_SQL, org_id, form_id)
    if row is None:
        return None
    return FormRow(row["customer_type"], row["version"], json.loads(row["fields"]))
