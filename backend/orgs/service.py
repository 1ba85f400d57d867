"""Organizations: creating one sets up its admin and its default customer types."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import NotFound
from backend.events import service as events
from backend.forms import service as forms_service
from backend.models import Organization, User
from backend.models.user import Role
from backend.users import service as user_service
from backend.users.schemas import UserCreate


async def create_org(
    session: AsyncSession, name: str, admin_username: str, admin_password: str
) -> tuple[Organization, User]:
    org = Organization(name=name)
    session.add(org)
    await session.flush()
    admin = await user_service.create_user(
        session,
        org.id,
        UserCreate(
            username=admin_username,
            display_name=admin_username,
            role=Role.admin,
            password=admin_password,
        ),
        actor_id=None,
    )
    await forms_service.create_default_customer_types(session, org.id, admin.id)
    await events.record(
        session,
        org_id=org.id,
        type="org.created",
        subject_type="org",
        subject_id=org.id,
        actor_id=None,
        payload={"name": name},
    )
    return org, admin


async def get_org(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organization.")
    return org


async def find_org(session: AsyncSession, name_or_id: str) -> Organization | None:
    try:
        return await session.get(Organization, uuid.UUID(name_or_id))
    except ValueError:
        return await session.scalar(select(Organization).where(Organization.name == name_or_id))


async def count_orgs(session: AsyncSession) -> int:
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)
