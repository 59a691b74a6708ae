"""signup_attempt: sign-ups per client address, to rate-limit them across gateway replicas

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

SCHEMA = "gateway"

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signup_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signup_attempt"),
        schema=SCHEMA,
    )
    op.create_index("signup_attempt_address_idx", "signup_attempt", ["address", "at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("signup_attempt", schema=SCHEMA)
