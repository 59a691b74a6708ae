"""Qluster metadata: destinations, datasets, data sources (versioned documents), their history, fatal errors
and per-field validation rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 16:30:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns
from headwater.ingestion import SCHEMA

revision: str = "0002"
down_revision: str | None = "0001"


def _document(name: str, *extra: Any, name_length: int = 255) -> None:
    op.create_table(
        name,
        columns.identity_key(),
        sa.Column("version_id", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
        sa.Column("name", sa.String(length=name_length), nullable=True),
        *extra,
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *columns.timestamps(),
        schema=SCHEMA,
    )


def upgrade() -> None:
    _document("destination", name_length=2000)
    _document(
        "dataset",
        sa.Column(
            "destination_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.destination.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Index("ix_dataset_destination_id", "destination_id"),
    )
    _document(
        "data_source",
        sa.Column(
            "dataset_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.dataset.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Index("ix_data_source_dataset_id", "dataset_id"),
    )
    op.create_table(
        "history",
        columns.identity_key(),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("changed_by", sa.String(length=320), nullable=True),
        sa.Index("ix_history_entity", "kind", "entity_id", "id"),
        schema=SCHEMA,
    )
    op.create_table(
        "fatal_error",
        columns.identity_key(),
        sa.Column("job_name", sa.String(length=2000), nullable=True),
        sa.Column("job_type", sa.String(length=20), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("module", sa.String(length=2000), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("stack_trace", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("data_source_id", sa.BigInteger(), nullable=True),
        sa.Column("settings_model_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_item_id", sa.BigInteger(), nullable=True),
        sa.Column("stored_item_id", sa.BigInteger(), nullable=True),
        sa.Column("dataset_id", sa.BigInteger(), nullable=True),
        sa.Column("meta_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        columns.created_at(),
        sa.Index("ix_fatal_error_aggregate", "error", "module", "job_name", "data_source_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "field_validation",
        sa.Column(
            "dataset_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.dataset.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("field_name", sa.String(length=255), primary_key=True),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *columns.timestamps(),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("field_validation", "fatal_error", "history", "data_source", "dataset", "destination"):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it
