import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin
from backend.kit.time import utc_now


class PhotoKind(StrEnum):
    storefront = "storefront"
    shelf = "shelf"
    conversation = "conversation"


class Photo(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """The current photo of one kind on a visit; its files live in object storage."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_org_id_visit_id_kind", "org_id", "visit_id", "kind", unique=True),
        Index("ix_photos_org_id_original_sha256", "org_id", "original_sha256", "taken_at"),
    )

    visit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[PhotoKind] = mapped_column(
        Enum(
            PhotoKind,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda kinds: [k.value for k in kinds],
        ),
        nullable=False,
    )
    original_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    phash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    width: Mapped[int] = mapped_column(nullable=False)
    height: Mapped[int] = mapped_column(nullable=False)
    bytes: Mapped[int] = mapped_column(nullable=False)
    thumb_bytes: Mapped[int] = mapped_column(nullable=False)
    storage_key: Mapped[str] = mapped_column(String(300), nullable=False)
    thumb_key: Mapped[str] = mapped_column(String(300), nullable=False)
    original_format: Mapped[str] = mapped_column(String(8), nullable=False)
    original_width: Mapped[int] = mapped_column(nullable=False)
    original_height: Mapped[int] = mapped_column(nullable=False)
    original_bytes: Mapped[int] = mapped_column(nullable=False)
    # EXIF capture time: aware when the camera recorded its offset, else the camera's local
    # wall time kept as text (its zone is unknown, so it is never compared as UTC).
    captured_at: Mapped[datetime | None] = mapped_column(nullable=True)
    captured_local_time: Mapped[str | None] = mapped_column(String(32), nullable=True)
    gps_lat: Mapped[float | None] = mapped_column(nullable=True)
    gps_lng: Mapped[float | None] = mapped_column(nullable=True)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    taken_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
