import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class AuditChecklist(IdMixin, OrgScopedMixin, Base):
    """One published version of an audit template's checklist. Rows are never updated: a change
    is a new version, and each audit keeps scoring against the version it started with."""

    __tablename__ = "audit_checklists"
    __table_args__ = (
        Index(
            "ix_audit_checklists_org_id_template_key_version",
            "org_id",
            "template_key",
            "version",
            unique=True,
        ),
        ForeignKeyConstraint(
            ["org_id", "template_key"],
            ["audit_templates.org_id", "audit_templates.key"],
            name="fk_audit_checklists_template_key_audit_templates",
            ondelete="CASCADE",
        ),
        CheckConstraint("version >= 1", name="version"),
    )

    template_key: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    # The checklist's items, as ChecklistDefinition serialises them.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
