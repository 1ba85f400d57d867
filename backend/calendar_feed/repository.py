"""SQL of the calendar feed: one row per user (``calendar_feeds``), holding only a version."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import CalendarFeed, Organization, User
from backend.models.user import Role


async def ensure(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> CalendarFeed:
    """The user's feed row, made now if there is none (two first calls racing make one)."""
    await session.execute(
        insert(CalendarFeed)
        .values(id=uuid.uuid4(), org_id=org_id, user_id=user_id, version=1, created_at=now)
        .on_conflict_do_nothing(index_elements=["org_id", "user_id"])
    )
    found = await session.scalars(
        select(CalendarFeed)
        .where(CalendarFeed.org_id == org_id, CalendarFeed.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return found.one()  # inserted above, or already there


async def bump_version(session: AsyncSession, feed: CalendarFeed, now: datetime) -> CalendarFeed:
    """``version + 1`` in the database (concurrent rotations serialize on the row)."""
    await session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.org_id == feed.org_id, CalendarFeed.id == feed.id)
        .values(version=CalendarFeed.version + 1, rotated_at=now)
    )
    await session.refresh(feed)
    return feed


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed with what serving it needs of its owner and their organization."""

    feed_id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    version: int
    role: Role
    locale: str
    is_active: bool
    org_signing_secret: bytes
    key_version: int


async def by_id_with_owner(session: AsyncSession, feed_id: uuid.UUID) -> FeedRow | None:
    """Any org's feed by its id, with its user and org in the same indexed read: a token that
    names no feed costs what one that names a feed does (one query), nothing to time."""
    row = (
        await session.execute(
            select(
                CalendarFeed.id,
                CalendarFeed.org_id,
                CalendarFeed.user_id,
                CalendarFeed.version,
                User.role,
                User.locale,
                User.is_active,
                Organization.signing_secret,
                Organization.signing_key_version,
            )
            .join(User, (User.id == CalendarFeed.user_id) & (User.org_id == CalendarFeed.org_id))
            .join(Organization, Organization.id == CalendarFeed.org_id)
            .where(CalendarFeed.id == feed_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return FeedRow(*row)
