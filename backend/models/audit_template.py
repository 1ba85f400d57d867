from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class AuditTemplate(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """A kind of store audit (巡店模板); its checklist versions hang off ``key``."""

    __tablename__ = "audit_templates"
    __table_args__ = (Index("ix_audit_templates_org_id_key", "org_id", "key", unique=True),)

    key: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Customer type keys the template is for; empty: every type.
    customer_types: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
