"""initial schema: outbox, inbox, system schedules and their firings

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:53:03.903969
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox

SCHEMA = "scheduler"

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "schedule",
        sa.Column("name", sa.String(length=100), nullable=False),
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
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(lease_owner IS NULL) = (lease_expires_at IS NULL)", name=op.f("ck_schedule_lease_complete")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule")),
        schema="scheduler",
    )
    op.create_index(
        "ix_schedule_due",
        "schedule",
        ["next_due_at"],
        unique=False,
        schema="scheduler",
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "schedule_firing",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("schedule_name", sa.String(length=100), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_by", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_name"],
            ["scheduler.schedule.name"],
            name=op.f("fk_schedule_firing_schedule_name_schedule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_firing")),
        sa.UniqueConstraint("schedule_name", "due_at", name=op.f("uq_schedule_firing_schedule_name_due_at")),
        schema="scheduler",
    )
    op.create_index(
        "ix_schedule_firing_fired_at", "schedule_firing", ["fired_at"], unique=False, schema="scheduler"
    )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    op.drop_index("ix_schedule_firing_fired_at", table_name="schedule_firing", schema="scheduler")
    op.drop_table("schedule_firing", schema="scheduler")
    op.drop_index(
        "ix_schedule_due", table_name="schedule", schema="scheduler", postgresql_where=sa.text("enabled")
    )
    op.drop_table("schedule", schema="scheduler")
