"""signup_attempt: sign-ups per client address, to rate-limit them across gateway replicas

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:20:00
"""

import sqlalchemy as sa
from alembic import op

from headwater.common.db import columns
from headwater.gateway import SCHEMA

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "signup_attempt",
        columns.identity_key(),
        sa.Column("address", sa.String(length=64), nullable=False),
        columns.created_at("at"),
        sa.Index("signup_attempt_address_idx", "address", "at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("signup_attempt", schema=SCHEMA)
