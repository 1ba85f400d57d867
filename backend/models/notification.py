import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class Notification(IdMixin, OrgScopedMixin, Base):
    """One message in a user's inbox; title and body in both languages ({"zh", "en"})."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_org_id_user_id_created_at", "org_id", "user_id", "created_at"),
        # Keeps the unread badge count cheap however long the inbox grows.
        Index(
            "ix_notifications_org_id_user_id_unread",
            "org_id",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    body: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    subject_type: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
