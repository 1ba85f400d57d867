"""Notifications: each user's inbox. Only the owner ever reads or marks their notifications;
anyone else's is 404, like another org's object."""

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.kit.pagination import PageParams, decode_time_cursor, encode_time_cursor
from backend.kit.time import utc_now
from backend.models import Notification


async def notify(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    type: str,
    title: dict[str, str],
    body: dict[str, str],
    subject_type: str,
    subject_id: uuid.UUID,
) -> Notification:
    """Put a notification in a user's inbox, in the caller's transaction (flushed, not committed).

    ``title`` and ``body`` carry both languages: ``{"zh": ..., "en": ...}``.
    """
    notification = Notification(
        org_id=org_id,
        user_id=user_id,
        type=type,
        title=_localized(title),
        body=_localized(body),
        subject_type=subject_type,
        subject_id=subject_id,
        created_at=utc_now(),
    )
    session.add(notification)
    await session.flush()
    return notification


def _localized(text: dict[str, str]) -> dict[str, str]:
    # Both languages always present, so a client never has to guess a fallback.
    zh = text.get("zh") or text.get("en") or ""
    en = text.get("en") or text.get("zh") or ""
    return {"zh": zh, "en": en}


async def list_notifications(
    session: AsyncSession, principal: Principal, page: PageParams, *, unread_only: bool
) -> tuple[Sequence[Notification], str | None]:
    """The caller's notifications, newest first, with a (created_at, id) cursor."""
    stmt = select(Notification).where(
        Notification.org_id == principal.org_id, Notification.user_id == principal.user_id
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if page.cursor:
        after_at, after_id = decode_time_cursor(page.cursor)
        stmt = stmt.where(
            or_(
                Notification.created_at < after_at,
                and_(Notification.created_at == after_at, Notification.id < after_id),
            )
        )
    rows = (
        await session.scalars(
            stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(
                page.limit + 1
            )
        )
    ).all()
    more = len(rows) > page.limit
    items = rows[: page.limit]
    cursor = encode_time_cursor(items[-1].created_at, items[-1].id) if more else None
    return items, cursor


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.org_id == principal.org_id,
            Notification.user_id == principal.user_id,
            Notification.read_at.is_(None),
        )
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> Notification:
    """Mark one of the caller's notifications read; marking it again keeps the first time."""
    notification = await session.scalar(
        select(Notification).where(
            Notification.org_id == principal.org_id,
            Notification.user_id == principal.user_id,
            Notification.id == notification_id,
        )
    )
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utc_now()
        await session.flush()
    return notification


async def for_subject(
    session: AsyncSession, org_id: uuid.UUID, subject_type: str, subject_id: uuid.UUID
) -> Sequence[Notification]:
    """Every notification about one thing, oldest first (for timelines and tests)."""
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
