import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class ReviewDecision(StrEnum):
    approved = "approved"
    rejected = "rejected"


class VisitReview(IdMixin, OrgScopedMixin, Base):
    """One supervisor decision on a submitted visit; the visit keeps its whole history."""

    __tablename__ = "visit_reviews"
    __table_args__ = (Index("ix_visit_reviews_org_id_visit_id_at", "org_id", "visit_id", "at"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), nullable=False
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    decision: Mapped[ReviewDecision] = mapped_column(
        Enum(
            ReviewDecision,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda decisions: [d.value for d in decisions],
        ),
        nullable=False,
    )
    comment: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utc_now, server_default=func.now())
