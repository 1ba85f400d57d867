"""Customer types (and, with the forms module, their versioned visit forms)."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, NotFound
from backend.events import service as events
from backend.forms.defaults import DEFAULT_CUSTOMER_TYPES
from backend.forms.schemas import CustomerTypeCreate
from backend.models import CustomerType


async def list_customer_types(session: AsyncSession, org_id: uuid.UUID) -> Sequence[CustomerType]:
    stmt = (
        select(CustomerType)
        .where(CustomerType.org_id == org_id)
        .order_by(CustomerType.created_at, CustomerType.key)
    )
    return (await session.scalars(stmt)).all()


async def get_customer_type(session: AsyncSession, org_id: uuid.UUID, key: str) -> CustomerType:
    found = await find_customer_type(session, org_id, key)
    if found is None:
        raise NotFound("No such customer type.")
    return found


async def find_customer_type(
    session: AsyncSession, org_id: uuid.UUID, key: str
) -> CustomerType | None:
    return await session.scalar(
        select(CustomerType).where(CustomerType.org_id == org_id, CustomerType.key == key)
    )


async def customer_type_keys(session: AsyncSession, org_id: uuid.UUID) -> set[str]:
    return set(await session.scalars(select(CustomerType.key).where(CustomerType.org_id == org_id)))


async def create_customer_type(
    session: AsyncSession, org_id: uuid.UUID, data: CustomerTypeCreate, actor_id: uuid.UUID | None
) -> CustomerType:
    if await find_customer_type(session, org_id, data.key) is not None:
        raise Conflict(f"The customer type {data.key!r} already exists.", field="key")
    customer_type = CustomerType(org_id=org_id, key=data.key, name=data.name, name_en=data.name_en)
    session.add(customer_type)
    await session.flush()
    await events.record(
        session,
        org_id=org_id,
        type="customer_type.created",
        subject_type="customer_type",
        subject_id=customer_type.id,
        actor_id=actor_id,
        payload={"key": data.key},
    )
    return customer_type


async def create_default_customer_types(
    session: AsyncSession, org_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    for default in DEFAULT_CUSTOMER_TYPES:
        await create_customer_type(
            session,
            org_id,
            CustomerTypeCreate(key=default.key, name=default.name, name_en=default.name_en),
            actor_id,
        )
