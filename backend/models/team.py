import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class Team(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (
        Index("ix_teams_org_id_name", "org_id", "name", unique=True),
        Index("ix_teams_org_id_supervisor_id", "org_id", "supervisor_id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    supervisor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
