import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, PrimaryKeyConstraint, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base, OrgScopedMixin


class IdempotencyKey(OrgScopedMixin, Base):
    """A POST's ``Idempotency-Key``, claimed by its caller, with the response to replay.

    Rows live 24 hours (see ``backend.kit.idempotency.purge_expired``). ``status`` is
    ``in_progress`` while the first request runs and ``completed`` once its response is stored.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("org_id", "user_id", "key"),)

    # The caller: a user's id, or an API key's (which acts for its org): no foreign key, so a
    # key's POSTs keep their Idempotency-Key like a person's do.
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    body_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    response_content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The database backend that holds the claim while the first request runs: when it is gone
    # (its process died, its connection dropped) the claim is released at once.
    owner_pid: Mapped[int | None] = mapped_column(nullable=True)
    owner_backend_start: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
