"""Qluster files: stored items, the nonces of their signed uploads, ignored contents and ingestion jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from headwater.common.db import columns
from headwater.ingestion import SCHEMA

revision: str = "0003"
down_revision: str | None = "0002"


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "stored_item",
        columns.identity_key(),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "data_source_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.data_source.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("file_name", sa.String(length=1024), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("ignore_file", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "is_uploaded_via_signed_url", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("current_job_id", sa.BigInteger(), nullable=True),
        _count("rows_loaded"),
        _count("rows_quarantined"),
        _count("rows_ignored"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        *columns.timestamps(),
        sa.Index("ix_stored_item_data_source_id", "data_source_id", "id"),
        sa.Index("ix_stored_item_dataset_sha256", "dataset_id", "sha256"),
        sa.Index("uq_stored_item_object_key", "object_key", unique=True),
        schema=SCHEMA,
    )
    op.create_table(
        "upload_nonce",
        sa.Column("nonce", sa.String(length=64), primary_key=True),
        sa.Column(
            "stored_item_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.stored_item.id", ondelete="CASCADE"),
            nullable=False,
        ),
        columns.created_at("used_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "ignored_content",
        sa.Column("dataset_id", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("stored_item_id", sa.BigInteger(), nullable=False),
        columns.created_at(),
        schema=SCHEMA,
    )
    op.create_table(
        "ingestion_job",
        columns.identity_key(),
        sa.Column(
            "stored_item_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.stored_item.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("data_source_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("replace", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("try_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _count("rows_read"),
        _count("rows_loaded"),
        _count("rows_quarantined"),
        _count("rows_ignored"),
        sa.Column("error", sa.Text(), nullable=True),
        columns.created_at(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index("ix_ingestion_job_stored_item_id", "stored_item_id"),
        sa.Index("ix_ingestion_job_data_source_id", "data_source_id", "id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("ingestion_job", "ignored_content", "upload_nonce", "stored_item"):
        op.drop_table(table, schema=SCHEMA)
