import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, PrimaryKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, OrgScopedMixin


class PhotoHashBand(OrgScopedMixin, Base):
    """One 16-bit band of a photo's perceptual hash, for indexed near-duplicate lookup.

    A query probes each band's value and its one-bit neighbours; any photo within Hamming
    distance 6 shares at least one such key (see backend/photos/processing.probe_keys).
    """

    __tablename__ = "photo_hash_bands"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "band_key", "photo_id"),
        Index(
            "ix_photo_hash_bands_org_id_band_key_taken_at",
            "org_id",
            "band_key",
            "taken_at",
            postgresql_include=["phash", "photo_id", "owner_id"],
        ),
        Index("ix_photo_hash_bands_org_id_photo_id", "org_id", "photo_id"),
    )

    band_key: Mapped[int] = mapped_column(nullable=False)
    photo_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), nullable=False
    )
    # The photo's visit, audit or rectification: a photo is never its own owner's duplicate.
    owner_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    phash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    taken_at: Mapped[datetime] = mapped_column(nullable=False)
