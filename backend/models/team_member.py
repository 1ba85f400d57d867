import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, OrgScopedMixin
from backend.kit.time import utc_now


class TeamMember(OrgScopedMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "team_id", "user_id"),
        Index("ix_team_members_org_id_user_id", "org_id", "user_id"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    added_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
