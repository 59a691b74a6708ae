"""Qluster metadata: destinations, datasets, data sources (versioned documents), their history and
per-field validation rules

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
    for table in ("field_validation", "history", "data_source", "dataset", "destination"):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it
