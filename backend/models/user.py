from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    rep = "rep"


class User(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_org_id_username", "org_id", "username", unique=True),
        Index("ix_users_org_id_role", "org_id", "role"),
        CheckConstraint("role IN ('admin', 'supervisor', 'rep')", name="role"),
        CheckConstraint("locale IN ('zh-CN', 'en')", name="locale"),
    )

    username: Mapped[str] = mapped_column(String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda roles: [r.value for r in roles],
        ),
        nullable=False,
    )
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="zh-CN")
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    # Bumped by every change that must cut the user's power at once (role, deactivation,
    # password): an access token carries the epoch it was issued under and is refused after.
    access_epoch: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
