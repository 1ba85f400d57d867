import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin, TimestampMixin


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookDelivery(IdMixin, OrgScopedMixin, TimestampMixin, Base):
    """One event to one endpoint: made once (unique per endpoint and event), retried on its
    schedule until it succeeds or gives up; each try is a ``webhook_attempts`` row."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_org_id_endpoint_id_event_id",
            "org_id",
            "endpoint_id",
            "event_id",
            unique=True,
        ),
        Index(
            "ix_webhook_deliveries_org_id_endpoint_id_created_at",
            "org_id",
            "endpoint_id",
            "created_at",
        ),
        # What the sender claims from: pending deliveries by due time.
        Index(
            "ix_webhook_deliveries_org_id_next_attempt_at_pending",
            "org_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    # The event's id is the ``webhook-id`` header, the same on every retry. ``ping`` events of
    # the test button are events too.
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        ),
        nullable=False,
        default=DeliveryStatus.pending,
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # A sender holds the delivery until this time while it sends (a crashed one lets go).
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_response_status: Mapped[int | None] = mapped_column(nullable=True)
