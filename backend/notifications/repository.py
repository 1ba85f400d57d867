"""SQL of the notifications domain. An inbox is its owner's alone, whatever their role: every
statement is scoped by the organization and the owning user (``for_subject`` by the org)."""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.models import Notification

# Newest first.
INBOX_ORDER = Keyset(Notification.created_at, Notification.id, descending=True)


def _owned_by(org_id: uuid.UUID, user_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return Notification.org_id == org_id, Notification.user_id == user_id


def _inbox(
    org_id: uuid.UUID, user_id: uuid.UUID, *, unread_only: bool
) -> tuple[ColumnElement[bool], ...]:
    unread = (Notification.read_at.is_(None),) if unread_only else ()
    return *_owned_by(org_id, user_id), *unread


async def inbox_page(
    session: AsyncSession,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    page: PageParams,
    *,
    unread_only: bool,
) -> tuple[list[Notification], str | None]:
    stmt = select(Notification).where(*_inbox(org_id, user_id, unread_only=unread_only))
    return await keyset_page(session, stmt, INBOX_ORDER, page)


async def unread_count(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Notification)
    return int(await session.scalar(stmt.where(*_inbox(org_id, user_id, unread_only=True))) or 0)


async def owned(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    return await session.scalar(
        select(Notification).where(*_owned_by(org_id, user_id), Notification.id == notification_id)
    )


async def for_subject(
    session: AsyncSession, org_id: uuid.UUID, subject_type: str, subject_id: uuid.UUID
) -> Sequence[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(
            Notification.org_id == org_id,
            Notification.subject_type == subject_type,
            Notification.subject_id == subject_id,
        )
        .order_by(Notification.created_at, Notification.id)
    )
    return rows.all()
