"""forms next actions notifications reviews

Revision ID: ad175b3d0f41
Revises: f4ae57b1105e
Create Date: 2026-11-23 22:10:17.730239+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ad175b3d0f41"
down_revision: str | None = "f4ae57b1105e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The check-in lock now also covers the form the visit pinned, and the checkout time once set.
_CHECK_IN = (
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
    "id",
    "org_id",
)


def _lock_function(columns: tuple[str, ...], extra: str) -> str:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    return f"""
CREATE OR REPLACE FUNCTION visits_check_in_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {changed}{extra} THEN
        RAISE EXCEPTION 'the check-in of visit % is locked', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""


LOCK_FUNCTION = _lock_function(
    (*_CHECK_IN, "customer_type", "form_version"),
    " OR (OLD.checked_out_at IS NOT NULL AND NEW.checked_out_at IS DISTINCT FROM OLD.checked_out_at)",
)
PREVIOUS_LOCK_FUNCTION = _lock_function(_CHECK_IN, "")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_notifications_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_org_id_user_id_created_at",
        "notifications",
        ["org_id", "user_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_notifications_org_id_user_id_unread",
        "notifications",
        ["org_id", "user_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "visit_forms",
        sa.Column("customer_type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_visit_forms_version")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_visit_forms_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_type"],
            ["customer_types.org_id", "customer_types.key"],
            name="fk_visit_forms_customer_type_customer_types",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_visit_forms_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_forms")),
    )
    op.create_index(
        "ix_visit_forms_org_id_customer_type_version",
        "visit_forms",
        ["org_id", "customer_type", "version"],
        unique=True,
    )
    op.create_table(
        "next_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "send_sample",
                "quote",
                "demo",
                "follow_up_call",
                "other",
                name="nextactiontype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "done", name="nextactionstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Uuid(), nullable=True),
        sa.Column("completion_note", sa.String(length=1000), nullable=True),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("reminded_24h_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_next_actions_assignee_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["users.id"],
            name=op.f("fk_next_actions_completed_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_next_actions_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_next_actions_store_id_stores"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_next_actions_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_next_actions")),
    )
    op.create_index(
        "ix_next_actions_org_id_assignee_id_status_due_at",
        "next_actions",
        ["org_id", "assignee_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_next_actions_org_id_due_at_pending",
        "next_actions",
        ["org_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND escalated_at IS NULL"),
    )
    op.create_index(
        "ix_next_actions_org_id_status_due_at",
        "next_actions",
        ["org_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_next_actions_org_id_visit_id", "next_actions", ["org_id", "visit_id"], unique=True
    )
    op.create_table(
        "visit_reviews",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("approved", "rejected", name="reviewdecision", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_visit_reviews_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_visit_reviews_reviewer_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_reviews_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_reviews")),
    )
    op.create_index(
        "ix_visit_reviews_org_id_visit_id_at",
        "visit_reviews",
        ["org_id", "visit_id", "at"],
        unique=False,
    )
    op.create_table(
        "next_action_reschedules",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("old_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("by_user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["next_actions.id"],
            name=op.f("fk_next_action_reschedules_action_id_next_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_next_action_reschedules_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_next_action_reschedules_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_next_action_reschedules")),
    )
    op.create_index(
        "ix_next_action_reschedules_org_id_action_id_at",
        "next_action_reschedules",
        ["org_id", "action_id", "at"],
        unique=False,
    )
    # Visits made before forms existed take their store's type and pin no form version.
    op.add_column("visits", sa.Column("customer_type", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE visits SET customer_type = stores.customer_type FROM stores"
        " WHERE stores.id = visits.store_id"
    )
    op.alter_column("visits", "customer_type", nullable=False)
    op.add_column("visits", sa.Column("form_version", sa.Integer(), nullable=True))
    op.add_column(
        "visits", sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "visits", sa.Column("answers_updated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("visits", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "visits",
        sa.Column("submit_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.alter_column("visits", "submit_count", server_default=None)
    op.add_column(
        "visits", sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.create_index(
        "ix_visits_org_id_status_submitted_at",
        "visits",
        ["org_id", "status", "submitted_at"],
        unique=False,
    )
    # Every customer type that already exists gets an empty first form version.
    op.execute(
        "INSERT INTO visit_forms (id, org_id, customer_type, version, fields, created_at)"
        " SELECT gen_random_uuid(), org_id, key, 1, '[]'::jsonb, now() FROM customer_types"
    )
    op.execute(LOCK_FUNCTION)


def downgrade() -> None:
    op.execute(PREVIOUS_LOCK_FUNCTION)
    op.drop_index("ix_visits_org_id_status_submitted_at", table_name="visits")
    op.drop_column("visits", "summary")
    op.drop_column("visits", "submit_count")
    op.drop_column("visits", "submitted_at")
    op.drop_column("visits", "answers_updated_at")
    op.drop_column("visits", "answers")
    op.drop_column("visits", "form_version")
    op.drop_column("visits", "customer_type")
    op.drop_index(
        "ix_next_action_reschedules_org_id_action_id_at", table_name="next_action_reschedules"
    )
    op.drop_table("next_action_reschedules")
    op.drop_index("ix_visit_reviews_org_id_visit_id_at", table_name="visit_reviews")
    op.drop_table("visit_reviews")
    op.drop_index("ix_next_actions_org_id_visit_id", table_name="next_actions")
    op.drop_index("ix_next_actions_org_id_status_due_at", table_name="next_actions")
    op.drop_index(
        "ix_next_actions_org_id_due_at_pending",
        table_name="next_actions",
        postgresql_where=sa.text("status = 'open' AND escalated_at IS NULL"),
    )
    op.drop_index("ix_next_actions_org_id_assignee_id_status_due_at", table_name="next_actions")
    op.drop_table("next_actions")
    op.drop_index("ix_visit_forms_org_id_customer_type_version", table_name="visit_forms")
    op.drop_table("visit_forms")
    op.drop_index(
        "ix_notifications_org_id_user_id_unread",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_index("ix_notifications_org_id_user_id_created_at", table_name="notifications")
    op.drop_table("notifications")
