import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin


class WebhookAttempt(IdMixin, OrgScopedMixin, Base):
    """One try at sending a delivery: what the receiver answered (its body cut to 2 KB)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_org_id_delivery_id_attempt", "org_id", "delivery_id", "attempt"),
        Index("ix_webhook_attempts_org_id_endpoint_id_at", "org_id", "endpoint_id", "at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False)
    succeeded: Mapped[bool] = mapped_column(nullable=False)
    response_status: Mapped[int | None] = mapped_column(nullable=True)
    response_body: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_ms: Mapped[int] = mapped_column(nullable=False)
    # When the next try is due after this one (None: none will follow).
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
