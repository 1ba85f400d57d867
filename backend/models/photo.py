import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin
from backend.kit.time import utc_now


class PhotoKind(StrEnum):
    storefront = "storefront"
    shelf = "shelf"
    conversation = "conversation"


#: Exactly one owner: a visit's photo of a kind, an audit item's photo, or a rectification's
#: after photo.
_ONE_OWNER = (
    "(visit_id IS NOT NULL AND kind IS NOT NULL AND audit_id IS NULL AND item_key IS NULL"
    " AND rectification_id IS NULL)"
    " OR (audit_id IS NOT NULL AND item_key IS NOT NULL AND visit_id IS NULL AND kind IS NULL"
    " AND rectification_id IS NULL)"
    " OR (rectification_id IS NOT NULL AND visit_id IS NULL AND kind IS NULL AND audit_id IS NULL"
    " AND item_key IS NULL)"
)


class Photo(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """The current photo in one slot: a visit's photo of a kind, an audit item's photo or a
    rectification's after photo. Its files live in object storage; every photo of the org is
    in the same duplicate lookup."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_org_id_visit_id_kind", "org_id", "visit_id", "kind", unique=True),
        Index(
            "ix_photos_org_id_audit_id_item_key",
            "org_id",
            "audit_id",
            "item_key",
            unique=True,
            postgresql_where=text("audit_id IS NOT NULL"),
        ),
        Index(
            "ix_photos_org_id_rectification_id",
            "org_id",
            "rectification_id",
            unique=True,
            postgresql_where=text("rectification_id IS NOT NULL"),
        ),
        Index("ix_photos_org_id_original_sha256", "org_id", "original_sha256", "taken_at"),
        CheckConstraint(_ONE_OWNER, name="one_owner"),
    )

    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), nullable=True
    )
    audit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), nullable=True
    )
    item_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rectification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[PhotoKind | None] = mapped_column(
        Enum(
            PhotoKind,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda kinds: [k.value for k in kinds],
        ),
        nullable=True,
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
