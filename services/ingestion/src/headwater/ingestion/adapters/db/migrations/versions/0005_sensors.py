"""Sensors: a data source's sensor state and the objects it has seen (with their ETag and size)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from headwater.common.db import columns
from headwater.ingestion import SCHEMA

revision: str = "0005"
down_revision: str | None = "0004"


def _data_source_id() -> sa.Column[int]:
    return sa.Column(
        "data_source_id",
        sa.BigInteger(),
        sa.ForeignKey(f"{SCHEMA}.data_source.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "sensor",
        _data_source_id(),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("cron_disabled", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        *columns.timestamps(),
        schema=SCHEMA,
    )
    op.create_table(
        "sensor_object",
        _data_source_id(),
        sa.Column("object_key", sa.String(length=1024), primary_key=True),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_item_id", sa.BigInteger(), nullable=True),
        columns.created_at("seen_at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("sensor_object", schema=SCHEMA)
    op.drop_table("sensor", schema=SCHEMA)
