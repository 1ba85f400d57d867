import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin


class RefreshToken(IdMixin, OrgScopedMixin, Base):
    """One refresh token of a rotation family; only its SHA-256 is stored."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_org_id_token_hash", "org_id", "token_hash", unique=True),
        Index("ix_refresh_tokens_org_id_family_id", "org_id", "family_id"),
        Index("ix_refresh_tokens_org_id_expires_at", "org_id", "expires_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    family_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
