import secrets

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    """A tenant. Its signing secret (with the server secret) keys its QR codes and share links."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    signing_secret: Mapped[bytes] = mapped_column(
        LargeBinary(64), nullable=False, default=lambda: secrets.token_bytes(32)
    )
    signing_key_version: Mapped[int] = mapped_column(nullable=False, default=1)
