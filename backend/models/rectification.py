import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, OrgScopedMixin, TimestampMixin


class RectificationStatus(StrEnum):
    open = "open"
    submitted = "submitted"
    verified = "verified"
    reopened = "reopened"


#: Statuses in which the assignee still owes the fix (counted down, reminded, escalated).
OWED = (RectificationStatus.open, RectificationStatus.reopened)


class Rectification(OrgScopedMixin, TimestampMixin, Base):
    """A failed audit item turned into a task (整改) for a rep, closed only with an after photo
    taken during a visit checked in at that store."""

    __tablename__ = "rectifications"
    __table_args__ = (
        Index(
            "ix_rectifications_org_id_audit_id_item_key",
            "org_id",
            "audit_id",
            "item_key",
            unique=True,
        ),
        Index(
            "ix_rectifications_org_id_assignee_id_status_due_at",
            "org_id",
            "assignee_id",
            "status",
            "due_at",
        ),
        Index("ix_rectifications_org_id_store_id_status", "org_id", "store_id", "status"),
        Index("ix_rectifications_org_id_status_due_at", "org_id", "status", "due_at"),
        # The reminder and escalation jobs only ever look at this small set.
        Index(
            "ix_rectifications_org_id_due_at_pending",
            "org_id",
            "due_at",
            postgresql_where=text("status IN ('open', 'reopened') AND escalated_at IS NULL"),
        ),
    )

    # Derived from (audit, item): a replayed audit submit makes the same rectification.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), nullable=False
    )
    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="RESTRICT"), nullable=False
    )
    item_key: Mapped[str] = mapped_column(String(64), nullable=False)
    # The checklist item's label when it failed: {"zh": ..., "en": ...}.
    title: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    critical: Mapped[bool] = mapped_column(nullable=False, default=False)
    assignee_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    raised_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    status: Mapped[RectificationStatus] = mapped_column(
        Enum(
            RectificationStatus,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        ),
        nullable=False,
        default=RectificationStatus.open,
    )
    note: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    # The visit during which the current after photo was taken (proof of presence).
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"), nullable=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    submit_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Reset by a reopen: the after photo must then be newer than this.
    reopened_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Stamped in the same transaction as the notification they stand for (exactly once).
    reminded_24h_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reminded_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
