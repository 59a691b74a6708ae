"""addresses, address types, lineage edges and the datasets of OpenLineage runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

SCHEMA = "execution_tracking"

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    # OpenLineage jobs are named `namespace/name`, which can pass the Watcher's 150 characters.
    op.alter_column("pipeline", "name", type_=sa.String(length=500), schema=SCHEMA)
    op.create_table(
        "address_type",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("group_name", sa.String(length=150), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_type")),
        sa.UniqueConstraint("name", name=op.f("uq_address_type_name")),
        schema=SCHEMA,
    )
    op.create_table(
        "address",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("address_type_id", sa.BigInteger(), nullable=False),
        sa.Column("database_name", sa.String(length=255), nullable=True),
        sa.Column("schema_name", sa.String(length=255), nullable=True),
        sa.Column("table_name", sa.String(length=255), nullable=True),
        sa.Column("primary_key", sa.String(length=255), nullable=True),
        sa.Column("address_metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["address_type_id"],
            [f"{SCHEMA}.address_type.id"],
            name=op.f("fk_address_address_type_id_address_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address")),
        sa.UniqueConstraint("name", name=op.f("uq_address_name")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_address_address_type_id"), "address", ["address_type_id"], schema=SCHEMA)
    op.create_table(
        "address_lineage",
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("source_address_id", sa.BigInteger(), nullable=False),
        sa.Column("target_address_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            [f"{SCHEMA}.pipeline.id"],
            name=op.f("fk_address_lineage_pipeline_id_pipeline"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_address_id"],
            [f"{SCHEMA}.address.id"],
            name=op.f("fk_address_lineage_source_address_id_address"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_address_id"],
            [f"{SCHEMA}.address.id"],
            name=op.f("fk_address_lineage_target_address_id_address"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "source_address_id", "target_address_id", name=op.f("pk_address_lineage")
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_address_lineage_downstream",
        "address_lineage",
        ["source_address_id", "target_address_id", "pipeline_id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_address_lineage_upstream",
        "address_lineage",
        ["target_address_id", "source_address_id", "pipeline_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "run_dataset",
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=6), nullable=False),
        sa.Column("address_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("role IN ('input', 'output')", name=op.f("ck_run_dataset_role_valid")),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            [f"{SCHEMA}.pipeline_execution.id"],
            name=op.f("fk_run_dataset_execution_id_pipeline_execution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["address_id"],
            [f"{SCHEMA}.address.id"],
            name=op.f("fk_run_dataset_address_id_address"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "role", "address_id", name=op.f("pk_run_dataset")),
        schema=SCHEMA,
    )
    op.create_index("ix_run_dataset_address_id", "run_dataset", ["address_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_run_dataset_address_id", table_name="run_dataset", schema=SCHEMA)
    op.drop_table("run_dataset", schema=SCHEMA)
    op.drop_index("ix_address_lineage_upstream", table_name="address_lineage", schema=SCHEMA)
    op.drop_index("ix_address_lineage_downstream", table_name="address_lineage", schema=SCHEMA)
    op.drop_table("address_lineage", schema=SCHEMA)
    op.drop_index(op.f("ix_address_address_type_id"), table_name="address", schema=SCHEMA)
    op.drop_table("address", schema=SCHEMA)
    op.drop_table("address_type", schema=SCHEMA)
    op.alter_column("pipeline", "name", type_=sa.String(length=150), schema=SCHEMA)
