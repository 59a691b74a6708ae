"""Line signatures ignored per data source of a dataset (Qluster's Ignore Line Signature For Dataset View)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from headwater.common.db import columns
from headwater.ingestion import SCHEMA

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.create_table(
        "ignored_signatures",
        sa.Column(
            "dataset_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.dataset.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "data_source_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.data_source.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signature", sa.String(length=128), primary_key=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        columns.created_at(),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("ignored_signatures", schema=SCHEMA)
