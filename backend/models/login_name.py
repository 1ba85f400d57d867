import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db_model import Base


class LoginName(Base):
    """Global directory of usernames: login names are unique across organizations.

    The one table keyed without ``org_id``: a login form carries only a username, so it must be
    resolved to its organization before anything tenant-scoped is read (a reference table when
    the database is sharded by organization).
    """

    __tablename__ = "login_names"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
