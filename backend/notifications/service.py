"""Notifications: each user's inbox. Only the owner ever reads or marks their notifications;
anyone else's is 404, like another org's object."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.kit.pagination import PageParams
from backend.models import Notification
from backend.notifications import repository


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
    now: datetime,
) -> Notification:
    """Put a notification in a user's inbox at ``now``, in the caller's transaction (flushed,
    not committed).

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
        created_at=now,
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
    return await repository.inbox_page(
        session, principal.org_id, principal.user_id, page, unread_only=unread_only
    )


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    return await repository.unread_count(session, principal.org_id, principal.user_id)


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, now: datetime
) -> Notification:
    """Mark one of the caller's notifications read at ``now``; marking it again keeps the first
    time."""
    notification = await repository.owned(
        session, principal.org_id, principal.user_id, notification_id
    )
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = now
        await session.flush()
    return notification


async def for_subject(
    session: AsyncSession, org_id: uuid.UUID, subject_type: str, subject_id: uuid.UUID
) -> Sequence[Notification]:
    """Every notification about one thing, oldest first (for timelines and tests)."""
    return await repository.for_subject(session, org_id, subject_type, subject_id)
