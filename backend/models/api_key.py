import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class ApiKey(IdMixin, OrgScopedMixin, Base):
    """A scoped key a third-party app acts for its organization with (``dsk_...``). Only a keyed
    hash of the key is stored; the key itself is shown once, when it is made."""

    __tablename__ = "api_keys"
    # The key carries its row's id (``dsk_<id><secret>``): a request finds the row by primary
    # key and compares the hash in constant time, so no index needs to lead with the hash.
    __table_args__ = (Index("ix_api_keys_org_id_created_at", "org_id", "created_at"),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The first characters of the key (``dsk_ab12cd34``), to tell keys apart in a list.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    rate_per_minute: Mapped[int] = mapped_column(nullable=False, default=600)
    burst: Mapped[int] = mapped_column(nullable=False, default=60)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Written at most once a minute per key (not on every request).
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
