import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin


class RectificationChange(IdMixin, OrgScopedMixin, Base):
    """One step of a rectification's history: who moved it to which status, when, and why."""

    __tablename__ = "rectification_changes"
    __table_args__ = (
        Index(
            "ix_rectification_changes_org_id_rectification_id_at",
            "org_id",
            "rectification_id",
            "at",
        ),
    )

    rectification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False)
    # None: the system (a job).
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
