"""initial schema: outbox, inbox, system schedules and their firings

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:53:03.903969
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns
from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox
from headwater.scheduler import SCHEMA

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "schedule",
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        *columns.timestamps(),
        sa.CheckConstraint("(lease_owner IS NULL) = (lease_expires_at IS NULL)", name="lease_complete"),
        sa.Index("ix_schedule_due", "next_due_at", postgresql_where=sa.text("enabled")),
        schema=SCHEMA,
    )
    op.create_table(
        "schedule_firing",
        columns.identity_key(),
        sa.Column(
            "schedule_name",
            sa.String(length=100),
            sa.ForeignKey(f"{SCHEMA}.schedule.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_by", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.UniqueConstraint("schedule_name", "due_at"),
        sa.Index("ix_schedule_firing_fired_at", "fired_at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    for table in ("schedule_firing", "schedule"):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it
