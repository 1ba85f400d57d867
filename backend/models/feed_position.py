import uuid

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base


class FeedPosition(Base):
    """How far a follower of an organization's events feed inside Doorstep (the webhook
    dispatcher) has read: the (txid, seq) of the last event it handled. One row per follower and
    organization, locked while it reads, so N replicas never handle an event twice."""

    __tablename__ = "feed_positions"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
