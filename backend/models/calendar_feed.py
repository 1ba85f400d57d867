import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class CalendarFeed(IdMixin, OrgScopedMixin, Base):
    """A user's calendar subscription. Its secret URL is signed (user, version) with the org's
    key, so nothing secret is stored; rotating bumps ``version`` and the old URL answers 404."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_org_id_user_id", "org_id", "user_id", unique=True),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
    rotated_at: Mapped[datetime | None] = mapped_column(nullable=True)
