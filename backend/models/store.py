import uuid

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class Store(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    __tablename__ = "stores"
    __table_args__ = (
        Index("ix_stores_org_id_code", "org_id", "code", unique=True),
        Index("ix_stores_org_id_customer_type", "org_id", "customer_type"),
        Index("ix_stores_org_id_team_id", "org_id", "team_id"),
        Index("ix_stores_org_id_lat_lng", "org_id", "lat", "lng"),
        ForeignKeyConstraint(
            ["org_id", "customer_type"],
            ["customer_types.org_id", "customer_types.key"],
            name="fk_stores_customer_type_customer_types",
            ondelete="RESTRICT",
        ),
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat"),
        CheckConstraint("lng BETWEEN -180 AND 180", name="lng"),
        CheckConstraint("geofence_radius_m BETWEEN 20 AND 2000", name="geofence_radius_m"),
    )

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    lat: Mapped[float] = mapped_column(nullable=False)
    lng: Mapped[float] = mapped_column(nullable=False)
    geofence_radius_m: Mapped[int] = mapped_column(nullable=False)
    customer_type: Mapped[str] = mapped_column(String(40), nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    qr_version: Mapped[int] = mapped_column(nullable=False, default=1)
