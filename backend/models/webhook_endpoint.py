import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class WebhookEndpoint(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """A receiver of signed Standard Webhooks for the event types it asks for."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_org_id_created_at", "org_id", "created_at"),)

    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Event type names, or ["*"] for every type.
    event_types: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The signing secret (``whsec_`` + base64); it must be readable to sign, so it is stored as
    # is, like any credential the server itself presents.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    # After a rotation the old secret keeps signing beside the new one until this time.
    previous_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the current run of failures began (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
