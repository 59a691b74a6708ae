"""alert data source

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.add_column(
        "alert", sa.Column("data_source_id", sa.BigInteger(), nullable=True), schema="quality_alerting"
    )
    op.create_index(
        "ix_alert_data_source_id_id",
        "alert",
        ["data_source_id", "id"],
        unique=False,
        schema="quality_alerting",
    )


def downgrade() -> None:
    op.drop_index("ix_alert_data_source_id_id", table_name="alert", schema="quality_alerting")
    op.drop_column("alert", "data_source_id", schema="quality_alerting")
