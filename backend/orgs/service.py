"""Organizations: creating one sets up its admin and its default customer types."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audits import service as audit_service
from backend.errors import NotFound
from backend.events import service as events
from backend.events.catalog import OrgCreated
from backend.forms import service as forms_service
from backend.models import Organization, User
from backend.models.user import Role
from backend.orgs import repository
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
    await audit_service.create_standard_template(session, org.id, admin.id)
    await events.record(
        session, OrgCreated(name=name), org_id=org.id, subject_id=org.id, actor_id=None
    )
    return org, admin


async def get_org(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    org = await repository.by_id(session, org_id)
    if org is None:
        raise NotFound("No such organization.")
    return org


async def find_org(session: AsyncSession, name_or_id: str) -> Organization | None:
    try:
        org_id = uuid.UUID(name_or_id)
    except ValueError:
        return await repository.by_name(session, name_or_id)
    return await repository.by_id(session, org_id)


async def count_orgs(session: AsyncSession) -> int:
    return await repository.count(session)
