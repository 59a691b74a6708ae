"""ingestion alerts (dataset, stored item, count, blocking) and Qluster's fatal errors

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns
from headwater.quality_alerting import SCHEMA

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.add_column("alert", sa.Column("dataset_id", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.add_column("alert", sa.Column("stored_item_id", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.add_column(
        "alert", sa.Column("count", sa.Integer(), server_default=sa.text("1"), nullable=False), schema=SCHEMA
    )
    op.add_column(
        "alert",
        sa.Column("blocks_stored_item", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_alert_dataset_id_id", "alert", ["dataset_id", "id"], unique=False, schema=SCHEMA)
    op.create_table(
        "fatal_error",
        columns.identity_key(),
        sa.Column("job_name", sa.String(length=253), nullable=True),
        sa.Column("job_type", sa.String(length=10), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("module", sa.String(length=100), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("stack_trace", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("data_source_id", sa.BigInteger(), nullable=True),
        sa.Column("settings_model_id", sa.BigInteger(), nullable=True),
        sa.Column("dataset_id", sa.BigInteger(), nullable=True),
        sa.Column("stored_item_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_item_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "meta_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        columns.created_at(),
        sa.CheckConstraint("job_type IN ('job', 'cronjob')", name="job_type"),
        sa.Index(
            "uq_fatal_error_fingerprint_open",
            "fingerprint",
            unique=True,
            postgresql_where=sa.text("NOT deleted"),
        ),
        sa.Index("ix_fatal_error_deleted_id", "deleted", "id"),
        sa.Index("ix_fatal_error_data_source_id_id", "data_source_id", "id"),
        sa.Index("ix_fatal_error_created_at", "created_at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("fatal_error", schema=SCHEMA)
    op.drop_index("ix_alert_dataset_id_id", table_name="alert", schema=SCHEMA)
    for column in ("blocks_stored_item", "count", "stored_item_id", "dataset_id"):
        op.drop_column("alert", column, schema=SCHEMA)
