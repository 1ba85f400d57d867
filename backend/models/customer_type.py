from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class CustomerType(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """A kind of store (pharmacy, clinic, ...); its visit form versions hang off ``key``."""

    __tablename__ = "customer_types"
    __table_args__ = (Index("ix_customer_types_org_id_key", "org_id", "key", unique=True),)

    key: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
