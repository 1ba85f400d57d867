"""visits

Revision ID: 38dd59a35ce2
Revises: 9f2b23e47e34
Create Date: 2026-11-23 21:24:48.262554+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "38dd59a35ce2"
down_revision: str | None = "9f2b23e47e34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The check-in columns are locked by the database itself, not only by the API.
LOCKED_COLUMNS = (
    "store_id",
    "rep_id",
    "checked_in_at",
    "check_in_lat",
    "check_in_lng",
    "check_in_accuracy_m",
    "check_in_distance_m",
    "captured_at",
    "device_time",
    "server_received_at",
    "clock_offset_s",
    "queued_offline",
    "check_in_fingerprint",
)
CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in LOCKED_COLUMNS)
LOCK_FUNCTION = f"""
CREATE FUNCTION visits_check_in_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {CHANGED} OR NEW.id IS DISTINCT FROM OLD.id OR NEW.org_id IS DISTINCT FROM OLD.org_id THEN
        RAISE EXCEPTION 'the check-in of visit % is locked', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""
LOCK_TRIGGER = """
CREATE TRIGGER visits_check_in_locked BEFORE UPDATE ON visits
FOR EACH ROW EXECUTE FUNCTION visits_check_in_locked();
"""


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "submitted",
                "approved",
                "rejected",
                "abandoned",
                name="visitstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check_in_lat", sa.Double(), nullable=False),
        sa.Column("check_in_lng", sa.Double(), nullable=False),
        sa.Column("check_in_accuracy_m", sa.Double(), nullable=False),
        sa.Column("check_in_distance_m", sa.Double(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_offset_s", sa.Double(), nullable=False),
        sa.Column("queued_offline", sa.Boolean(), nullable=False),
        sa.Column("check_in_fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandon_reason", sa.String(length=500), nullable=True),
        sa.Column("trust_score", sa.Integer(), nullable=False),
        sa.Column("flags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("check_in_accuracy_m >= 0", name=op.f("ck_visits_accuracy")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_visits_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_visits_rep_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_visits_store_id_stores"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index(
        "ix_visits_org_id_rep_id_checked_in_at",
        "visits",
        ["org_id", "rep_id", "checked_in_at"],
        unique=False,
    )
    op.create_index(
        "ix_visits_org_id_rep_id_open",
        "visits",
        ["org_id", "rep_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_visits_org_id_status_checked_in_at",
        "visits",
        ["org_id", "status", "checked_in_at"],
        unique=False,
    )
    op.create_index(
        "ix_visits_org_id_store_id_checked_in_at",
        "visits",
        ["org_id", "store_id", "checked_in_at"],
        unique=False,
    )
    op.execute(LOCK_FUNCTION)
    op.execute(LOCK_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS visits_check_in_locked ON visits")
    op.execute("DROP FUNCTION IF EXISTS visits_check_in_locked()")
    op.drop_index("ix_visits_org_id_store_id_checked_in_at", table_name="visits")
    op.drop_index("ix_visits_org_id_status_checked_in_at", table_name="visits")
    op.drop_index(
        "ix_visits_org_id_rep_id_open",
        table_name="visits",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_visits_org_id_rep_id_checked_in_at", table_name="visits")
    op.drop_table("visits")
