import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class NextActionReschedule(IdMixin, OrgScopedMixin, Base):
    """One move of a next action's due time, with the rep's reason (supervisors see them all)."""

    __tablename__ = "next_action_reschedules"
    __table_args__ = (
        Index("ix_next_action_reschedules_org_id_action_id_at", "org_id", "action_id", "at"),
    )

    action_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("next_actions.id", ondelete="CASCADE"), nullable=False
    )
    old_due_at: Mapped[datetime] = mapped_column(nullable=False)
    new_due_at: Mapped[datetime] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    by_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(nullable=False, default=utc_now, server_default=func.now())
