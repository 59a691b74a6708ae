"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:56:16.532184
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns
from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox
from headwater.execution_tracking import SCHEMA

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "pipeline_type",
        columns.identity_key(),
        sa.Column("name", sa.String(length=150), nullable=False, unique=True),
        *columns.check_settings("freshness"),
        *columns.check_settings("timeliness"),
        *columns.timestamps(),
        schema=SCHEMA,
    )
    op.create_table(
        "pipeline",
        columns.identity_key(),
        sa.Column("name", sa.String(length=150), nullable=False, unique=True),
        columns.reference("pipeline_type_id", f"{SCHEMA}.pipeline_type.id", index=True),
        sa.Column("watermark", sa.String(length=50), nullable=True),
        sa.Column("next_watermark", sa.String(length=50), nullable=True),
        sa.Column("pipeline_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_target_insert", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_target_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_target_soft_delete", sa.DateTime(timezone=True), nullable=True),
        *columns.check_settings("freshness"),
        *columns.check_settings("timeliness"),
        sa.Column("load_lineage", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=True),
        *columns.timestamps(),
        schema=SCHEMA,
    )
    op.create_table(
        "pipeline_execution",
        columns.identity_key(),
        sa.Column(
            "parent_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.pipeline_execution.id", ondelete="SET NULL"),
        ),
        columns.reference("pipeline_id", f"{SCHEMA}.pipeline.id"),
        sa.Column("run_id", sa.String(length=200), nullable=True, unique=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=True),
        sa.Column("completed_successfully", sa.Boolean(), nullable=True),
        *columns.row_counts(),
        sa.Column("watermark", sa.String(length=50), nullable=True),
        sa.Column("next_watermark", sa.String(length=50), nullable=True),
        sa.Column("execution_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("anomaly_flags", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.Column("hour_recorded", sa.SmallInteger(), nullable=False),
        sa.Column("date_recorded", sa.Date(), nullable=False),
        *columns.timestamps(),
        sa.Index("ix_pipeline_execution_end_date", "end_date"),
        sa.Index(
            "ix_pipeline_execution_parent_id", "parent_id", postgresql_where=sa.text("parent_id IS NOT NULL")
        ),
        sa.Index("ix_pipeline_execution_pipeline_id_start_date", "pipeline_id", "start_date"),
        schema=SCHEMA,
    )
    execution_id = f"{SCHEMA}.pipeline_execution.id"
    op.create_table(
        "pipeline_execution_closure",
        columns.reference("parent_execution_id", execution_id, ondelete="CASCADE"),
        columns.reference("child_execution_id", execution_id, ondelete="CASCADE"),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("parent_execution_id", "child_execution_id"),
        sa.Index("ix_pipeline_execution_closure_child_execution_id", "child_execution_id"),
        schema=SCHEMA,
    )
    for table in ("pipeline_type", "pipeline"):
        for check in ("freshness", "timeliness"):
            op.create_check_constraint(
                f"{check}_number_positive", table, f"{check}_number > 0", schema=SCHEMA
            )
            op.create_check_constraint(
                f"{check}_datepart_valid", table, f"{check}_datepart IN {columns.DATEPARTS}", schema=SCHEMA
            )
    for count in columns.ROW_COUNTS:
        op.create_check_constraint(
            f"{count}_non_negative", "pipeline_execution", f"{count} >= 0", schema=SCHEMA
        )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    for table in ("pipeline_execution_closure", "pipeline_execution", "pipeline", "pipeline_type"):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it
