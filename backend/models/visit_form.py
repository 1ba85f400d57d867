import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class VisitForm(IdMixin, OrgScopedMixin, Base):
    """One published version of a customer type's visit form. Rows are never updated: a change
    is a new version, and each visit keeps rendering with the version it began with."""

    __tablename__ = "visit_forms"
    __table_args__ = (
        Index(
            "ix_visit_forms_org_id_customer_type_version",
            "org_id",
            "customer_type",
            "version",
            unique=True,
        ),
        ForeignKeyConstraint(
            ["org_id", "customer_type"],
            ["customer_types.org_id", "customer_types.key"],
            name="fk_visit_forms_customer_type_customer_types",
            ondelete="CASCADE",
        ),
        CheckConstraint("version >= 1", name="version"),
    )

    customer_type: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    # The definition's list of fields, as FormDefinition serialises it.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
