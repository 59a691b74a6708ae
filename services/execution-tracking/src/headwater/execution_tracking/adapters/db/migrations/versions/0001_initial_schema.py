"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:56:16.532184
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox

SCHEMA = "execution_tracking"
DATEPARTS = "('minute', 'hour', 'day', 'week', 'month', 'year')"

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "pipeline_type",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("freshness_number", sa.Integer(), nullable=True),
        sa.Column("freshness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_freshness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("timeliness_number", sa.Integer(), nullable=True),
        sa.Column("timeliness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_timeliness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_type")),
        sa.UniqueConstraint("name", name=op.f("uq_pipeline_type_name")),
        schema="execution_tracking",
    )
    op.create_table(
        "pipeline",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=False),
        sa.Column("watermark", sa.String(length=50), nullable=True),
        sa.Column("next_watermark", sa.String(length=50), nullable=True),
        sa.Column("pipeline_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_target_insert", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_target_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_target_soft_delete", sa.DateTime(timezone=True), nullable=True),
        sa.Column("freshness_number", sa.Integer(), nullable=True),
        sa.Column("freshness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_freshness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("timeliness_number", sa.Integer(), nullable=True),
        sa.Column("timeliness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_timeliness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("load_lineage", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_type_id"],
            ["execution_tracking.pipeline_type.id"],
            name=op.f("fk_pipeline_pipeline_type_id_pipeline_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline")),
        sa.UniqueConstraint("name", name=op.f("uq_pipeline_name")),
        schema="execution_tracking",
    )
    op.create_index(
        op.f("ix_pipeline_pipeline_type_id"),
        "pipeline",
        ["pipeline_type_id"],
        unique=False,
        schema="execution_tracking",
    )
    op.create_table(
        "pipeline_execution",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=True),
        sa.Column("completed_successfully", sa.Boolean(), nullable=True),
        sa.Column("inserts", sa.BigInteger(), nullable=True),
        sa.Column("updates", sa.BigInteger(), nullable=True),
        sa.Column("soft_deletes", sa.BigInteger(), nullable=True),
        sa.Column("total_rows", sa.BigInteger(), nullable=True),
        sa.Column("watermark", sa.String(length=50), nullable=True),
        sa.Column("next_watermark", sa.String(length=50), nullable=True),
        sa.Column("execution_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("anomaly_flags", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.Column("hour_recorded", sa.SmallInteger(), nullable=False),
        sa.Column("date_recorded", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["execution_tracking.pipeline_execution.id"],
            name=op.f("fk_pipeline_execution_parent_id_pipeline_execution"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["execution_tracking.pipeline.id"],
            name=op.f("fk_pipeline_execution_pipeline_id_pipeline"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_execution")),
        sa.UniqueConstraint("run_id", name=op.f("uq_pipeline_execution_run_id")),
        schema="execution_tracking",
    )
    op.create_index(
        "ix_pipeline_execution_end_date",
        "pipeline_execution",
        ["end_date"],
        unique=False,
        schema="execution_tracking",
    )
    op.create_index(
        "ix_pipeline_execution_parent_id",
        "pipeline_execution",
        ["parent_id"],
        unique=False,
        schema="execution_tracking",
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_index(
        "ix_pipeline_execution_pipeline_id_start_date",
        "pipeline_execution",
        ["pipeline_id", "start_date"],
        unique=False,
        schema="execution_tracking",
    )
    op.create_table(
        "pipeline_execution_closure",
        sa.Column("parent_execution_id", sa.BigInteger(), nullable=False),
        sa.Column("child_execution_id", sa.BigInteger(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_execution_id"],
            ["execution_tracking.pipeline_execution.id"],
            name=op.f("fk_pipeline_execution_closure_child_execution_id_pipeline_execution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_execution_id"],
            ["execution_tracking.pipeline_execution.id"],
            name=op.f("fk_pipeline_execution_closure_parent_execution_id_pipeline_execution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "parent_execution_id", "child_execution_id", name=op.f("pk_pipeline_execution_closure")
        ),
        schema="execution_tracking",
    )
    op.create_index(
        "ix_pipeline_execution_closure_child_execution_id",
        "pipeline_execution_closure",
        ["child_execution_id"],
        unique=False,
        schema="execution_tracking",
    )
    for table in ("pipeline_type", "pipeline"):
        for check in ("freshness", "timeliness"):
            op.create_check_constraint(
                f"{check}_number_positive", table, f"{check}_number > 0", schema=SCHEMA
            )
            op.create_check_constraint(
                f"{check}_datepart_valid", table, f"{check}_datepart IN {DATEPARTS}", schema=SCHEMA
            )
    for count in ("inserts", "updates", "soft_deletes", "total_rows"):
        op.create_check_constraint(
            f"{count}_non_negative", "pipeline_execution", f"{count} >= 0", schema=SCHEMA
        )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    op.drop_index(
        "ix_pipeline_execution_closure_child_execution_id",
        table_name="pipeline_execution_closure",
        schema="execution_tracking",
    )
    op.drop_table("pipeline_execution_closure", schema="execution_tracking")
    op.drop_index(
        "ix_pipeline_execution_pipeline_id_start_date",
        table_name="pipeline_execution",
        schema="execution_tracking",
    )
    op.drop_index(
        "ix_pipeline_execution_parent_id",
        table_name="pipeline_execution",
        schema="execution_tracking",
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_pipeline_execution_end_date", table_name="pipeline_execution", schema="execution_tracking"
    )
    op.drop_table("pipeline_execution", schema="execution_tracking")
    op.drop_index(op.f("ix_pipeline_pipeline_type_id"), table_name="pipeline", schema="execution_tracking")
    op.drop_table("pipeline", schema="execution_tracking")
    op.drop_table("pipeline_type", schema="execution_tracking")
