"""access epoch and idempotency claim owner

Revision ID: cca810106af3
Revises: dc3c9c4343d8
Create Date: 2026-12-01 21:15:50.102889+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cca810106af3"
down_revision: str | None = "dc3c9c4343d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("owner_pid", sa.Integer(), nullable=True))
    op.add_column(
        "idempotency_keys",
        sa.Column("owner_backend_start", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "users", sa.Column("access_epoch", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "access_epoch")
    op.drop_column("idempotency_keys", "owner_backend_start")
    op.drop_column("idempotency_keys", "owner_pid")
