from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base


class LoginThrottle(Base):
    """Password attempts counted per key (backend/auth/throttle.py): a username, known or not,
    so both answer alike, or a client address (``ip:...``; usernames cannot contain ``:``).
    ``failures`` counts attempts not (yet) proven right, each counted before its check."""

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(nullable=False, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
