"""addresses, address types, lineage edges and the datasets of OpenLineage runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns

SCHEMA = "execution_tracking"

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    # OpenLineage jobs are named `namespace/name`, which can pass the Watcher's 150 characters.
    op.alter_column("pipeline", "name", type_=sa.String(length=500), schema=SCHEMA)
    op.create_table(
        "address_type",
        columns.identity_key(),
        sa.Column("name", sa.String(length=150), nullable=False, unique=True),
        sa.Column("group_name", sa.String(length=150), nullable=False),
        *columns.timestamps(),
        schema=SCHEMA,
    )
    op.create_table(
        "address",
        columns.identity_key(),
        sa.Column("name", sa.String(length=1000), nullable=False, unique=True),
        columns.reference("address_type_id", f"{SCHEMA}.address_type.id", index=True),
        sa.Column("database_name", sa.String(length=255), nullable=True),
        sa.Column("schema_name", sa.String(length=255), nullable=True),
        sa.Column("table_name", sa.String(length=255), nullable=True),
        sa.Column("primary_key", sa.String(length=255), nullable=True),
        sa.Column("address_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *columns.timestamps(),
        schema=SCHEMA,
    )
    pipeline_id, address_id = f"{SCHEMA}.pipeline.id", f"{SCHEMA}.address.id"
    op.create_table(
        "address_lineage",
        columns.reference("pipeline_id", pipeline_id, ondelete="CASCADE"),
        columns.reference("source_address_id", address_id, ondelete="CASCADE"),
        columns.reference("target_address_id", address_id, ondelete="CASCADE"),
        columns.created_at(),
        sa.PrimaryKeyConstraint("pipeline_id", "source_address_id", "target_address_id"),
        sa.Index("ix_address_lineage_downstream", "source_address_id", "target_address_id", "pipeline_id"),
        sa.Index("ix_address_lineage_upstream", "target_address_id", "source_address_id", "pipeline_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "run_dataset",
        columns.reference("execution_id", f"{SCHEMA}.pipeline_execution.id", ondelete="CASCADE"),
        sa.Column("role", sa.String(length=6), nullable=False),
        columns.reference("address_id", address_id, ondelete="CASCADE"),
        sa.CheckConstraint("role IN ('input', 'output')", name="role_valid"),
        sa.PrimaryKeyConstraint("execution_id", "role", "address_id"),
        sa.Index("ix_run_dataset_address_id", "address_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("run_dataset", "address_lineage", "address", "address_type"):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it
    op.alter_column("pipeline", "name", type_=sa.String(length=150), schema=SCHEMA)
