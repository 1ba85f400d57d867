import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, IdMixin, OrgScopedMixin
from backend.kit.time import utc_now


class Event(IdMixin, OrgScopedMixin, Base):
    """The events outbox: written in the same transaction as the change it records."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_org_id_occurred_at", "org_id", "occurred_at"),
        Index("ix_events_org_id_subject", "org_id", "subject_type", "subject_id", "occurred_at"),
        # The change feed's order: by the writing transaction's id, then by insertion.
        Index("ix_events_org_id_txid_seq", "org_id", "txid", "seq"),
    )

    type: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utc_now, server_default=func.now()
    )
    # The change feed's position (docs/integration.md, "The change feed"): the id of the
    # transaction that wrote the event, and the order of insertion within it. The feed shows an
    # event only once every transaction that could still commit a smaller txid has ended.
    txid: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), nullable=False)
