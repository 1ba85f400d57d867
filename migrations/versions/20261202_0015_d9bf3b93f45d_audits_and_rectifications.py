"""audits and rectifications

Revision ID: d9bf3b93f45d
Revises: cca810106af3
Create Date: 2026-12-02 00:15:42.432270+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d9bf3b93f45d"
down_revision: str | None = "cca810106af3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What an audit locks at the door, written once (like a visit's check-in): the store, the
# auditor, the position and times, and the checklist version it is scored against.
_LOCKED = (
    "id",
    "org_id",
    "store_id",
    "auditor_id",
    "template_key",
    "template_version",
    "started_at",
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
_CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _LOCKED)
LOCK_FUNCTION = f"""
CREATE FUNCTION audits_check_in_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {_CHANGED}
       OR (OLD.submitted_at IS NOT NULL AND NEW.submitted_at IS DISTINCT FROM OLD.submitted_at)
    THEN
        RAISE EXCEPTION 'the start of audit % is locked', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""
LOCK_TRIGGER = """
CREATE TRIGGER audits_check_in_locked BEFORE UPDATE ON audits
FOR EACH ROW EXECUTE FUNCTION audits_check_in_locked()
"""
ONE_OWNER = (
    "(visit_id IS NOT NULL AND kind IS NOT NULL AND audit_id IS NULL AND item_key IS NULL"
    " AND rectification_id IS NULL)"
    " OR (audit_id IS NOT NULL AND item_key IS NOT NULL AND visit_id IS NULL AND kind IS NULL"
    " AND rectification_id IS NULL)"
    " OR (rectification_id IS NOT NULL AND visit_id IS NULL AND kind IS NULL AND audit_id IS NULL"
    " AND item_key IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "audit_templates",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("customer_types", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
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
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_audit_templates_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_templates")),
    )
    op.create_index(
        "ix_audit_templates_org_id_key", "audit_templates", ["org_id", "key"], unique=True
    )
    op.create_table(
        "audit_checklists",
        sa.Column("template_key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_audit_checklists_version")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_audit_checklists_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "template_key"],
            ["audit_templates.org_id", "audit_templates.key"],
            name="fk_audit_checklists_template_key_audit_templates",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_audit_checklists_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checklists")),
    )
    op.create_index(
        "ix_audit_checklists_org_id_template_key_version",
        "audit_checklists",
        ["org_id", "template_key", "version"],
        unique=True,
    )
    op.create_table(
        "audits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("auditor_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "submitted", "abandoned", name="auditstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("template_key", sa.String(length=40), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("trust_score", sa.Integer(), nullable=False),
        sa.Column("flags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("results", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("results_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submit_fingerprint", sa.LargeBinary(length=32), nullable=True),
        sa.Column("score_earned", sa.Double(), nullable=True),
        sa.Column("score_possible", sa.Double(), nullable=True),
        sa.Column("score_percent", sa.Double(), nullable=True),
        sa.Column(
            "band",
            sa.Enum("green", "amber", "red", name="auditband", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("failed_critical", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandon_reason", sa.String(length=500), nullable=True),
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
        sa.CheckConstraint("check_in_accuracy_m >= 0", name=op.f("ck_audits_accuracy")),
        sa.ForeignKeyConstraint(
            ["auditor_id"],
            ["users.id"],
            name=op.f("fk_audits_auditor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "template_key", "template_version"],
            [
                "audit_checklists.org_id",
                "audit_checklists.template_key",
                "audit_checklists.version",
            ],
            name="fk_audits_template_version_audit_checklists",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_audits_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_audits_store_id_stores"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audits")),
    )
    op.create_index(
        "ix_audits_org_id_auditor_id_open",
        "audits",
        ["org_id", "auditor_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_audits_org_id_auditor_id_started_at",
        "audits",
        ["org_id", "auditor_id", "started_at"],
        unique=False,
    )
    op.create_index("ix_audits_org_id_started_at", "audits", ["org_id", "started_at"], unique=False)
    op.create_index(
        "ix_audits_org_id_store_id_started_at",
        "audits",
        ["org_id", "store_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column("raised_by_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "submitted",
                "verified",
                "reopened",
                name="rectificationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submit_note", sa.String(length=1000), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_rectifications_assignee_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_rectifications_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rectifications_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["users.id"],
            name=op.f("fk_rectifications_raised_by_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_rectifications_store_id_stores"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_rectifications_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
    )
    op.create_index(
        "ix_rectifications_org_id_assignee_id_status_due_at",
        "rectifications",
        ["org_id", "assignee_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_rectifications_org_id_audit_id_item_key",
        "rectifications",
        ["org_id", "audit_id", "item_key"],
        unique=True,
    )
    op.create_index(
        "ix_rectifications_org_id_due_at_pending",
        "rectifications",
        ["org_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'reopened') AND escalated_at IS NULL"),
    )
    op.create_index(
        "ix_rectifications_org_id_status_due_at",
        "rectifications",
        ["org_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_rectifications_org_id_store_id_status",
        "rectifications",
        ["org_id", "store_id", "status"],
        unique=False,
    )
    op.create_table(
        "rectification_changes",
        sa.Column("rectification_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_rectification_changes_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rectification_changes_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectifications.id"],
            name=op.f("fk_rectification_changes_rectification_id_rectifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_changes")),
    )
    op.create_index(
        "ix_rectification_changes_org_id_rectification_id_at",
        "rectification_changes",
        ["org_id", "rectification_id", "at"],
        unique=False,
    )
    # A band's owner is its photo's visit, audit or rectification; every visit photo's band
    # keeps its visit id (the covering index follows the renamed column).
    op.alter_column("photo_hash_bands", "visit_id", new_column_name="owner_id")
    op.add_column("photos", sa.Column("audit_id", sa.Uuid(), nullable=True))
    op.add_column("photos", sa.Column("item_key", sa.String(length=64), nullable=True))
    op.add_column("photos", sa.Column("rectification_id", sa.Uuid(), nullable=True))
    op.alter_column("photos", "visit_id", existing_type=sa.UUID(), nullable=True)
    op.alter_column("photos", "kind", existing_type=sa.VARCHAR(length=16), nullable=True)
    op.create_index(
        "ix_photos_org_id_audit_id_item_key",
        "photos",
        ["org_id", "audit_id", "item_key"],
        unique=True,
        postgresql_where=sa.text("audit_id IS NOT NULL"),
    )
    op.create_index(
        "ix_photos_org_id_rectification_id",
        "photos",
        ["org_id", "rectification_id"],
        unique=True,
        postgresql_where=sa.text("rectification_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_photos_rectification_id_rectifications"),
        "photos",
        "rectifications",
        ["rectification_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        op.f("fk_photos_audit_id_audits"),
        "photos",
        "audits",
        ["audit_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(op.f("ck_photos_one_owner"), "photos", ONE_OWNER)
    op.execute(LOCK_FUNCTION)
    op.execute(LOCK_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audits_check_in_locked ON audits")
    op.execute("DROP FUNCTION IF EXISTS audits_check_in_locked()")
    op.execute("DELETE FROM photos WHERE visit_id IS NULL")
    op.drop_constraint(op.f("ck_photos_one_owner"), "photos", type_="check")
    op.drop_constraint(op.f("fk_photos_audit_id_audits"), "photos", type_="foreignkey")
    op.drop_constraint(
        op.f("fk_photos_rectification_id_rectifications"), "photos", type_="foreignkey"
    )
    op.drop_index(
        "ix_photos_org_id_rectification_id",
        table_name="photos",
        postgresql_where=sa.text("rectification_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_photos_org_id_audit_id_item_key",
        table_name="photos",
        postgresql_where=sa.text("audit_id IS NOT NULL"),
    )
    op.alter_column("photos", "kind", existing_type=sa.VARCHAR(length=16), nullable=False)
    op.alter_column("photos", "visit_id", existing_type=sa.UUID(), nullable=False)
    op.drop_column("photos", "rectification_id")
    op.drop_column("photos", "item_key")
    op.drop_column("photos", "audit_id")
    op.alter_column("photo_hash_bands", "owner_id", new_column_name="visit_id")
    op.drop_index(
        "ix_rectification_changes_org_id_rectification_id_at", table_name="rectification_changes"
    )
    op.drop_table("rectification_changes")
    op.drop_index("ix_rectifications_org_id_store_id_status", table_name="rectifications")
    op.drop_index("ix_rectifications_org_id_status_due_at", table_name="rectifications")
    op.drop_index(
        "ix_rectifications_org_id_due_at_pending",
        table_name="rectifications",
        postgresql_where=sa.text("status IN ('open', 'reopened') AND escalated_at IS NULL"),
    )
    op.drop_index("ix_rectifications_org_id_audit_id_item_key", table_name="rectifications")
    op.drop_index("ix_rectifications_org_id_assignee_id_status_due_at", table_name="rectifications")
    op.drop_table("rectifications")
    op.drop_index("ix_audits_org_id_store_id_started_at", table_name="audits")
    op.drop_index("ix_audits_org_id_started_at", table_name="audits")
    op.drop_index("ix_audits_org_id_auditor_id_started_at", table_name="audits")
    op.drop_index(
        "ix_audits_org_id_auditor_id_open",
        table_name="audits",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("audits")
    op.drop_index("ix_audit_checklists_org_id_template_key_version", table_name="audit_checklists")
    op.drop_table("audit_checklists")
    op.drop_index("ix_audit_templates_org_id_key", table_name="audit_templates")
    op.drop_table("audit_templates")
