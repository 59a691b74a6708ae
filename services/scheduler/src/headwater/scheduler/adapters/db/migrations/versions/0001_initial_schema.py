"""initial schema: outbox, inbox, system schedules and their firings

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:53:03.903969
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.messaging.tables import outbox_notify_trigger_sql

SCHEMA = "scheduler"

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
        schema="scheduler",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema="scheduler",
    )
    op.create_index(
        "ix_outbox_sent_at",
        "outbox",
        ["sent_at"],
        unique=False,
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        unique=False,
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_unsent_key",
        "outbox",
        ["key", "id"],
        unique=False,
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    for statement in outbox_notify_trigger_sql(SCHEMA):
        op.execute(statement)
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
    op.drop_index("ix_schedule_firing_fired_at", table_name="schedule_firing", schema="scheduler")
    op.drop_table("schedule_firing", schema="scheduler")
    op.drop_index(
        "ix_schedule_due", table_name="schedule", schema="scheduler", postgresql_where=sa.text("enabled")
    )
    op.drop_table("schedule", schema="scheduler")
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{SCHEMA}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{SCHEMA}".outbox_notify()')
    op.drop_index(
        "ix_outbox_unsent_key",
        table_name="outbox",
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.drop_index(
        "ix_outbox_unsent",
        table_name="outbox",
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.drop_index(
        "ix_outbox_sent_at",
        table_name="outbox",
        schema="scheduler",
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )
    op.drop_table("outbox", schema="scheduler")
    op.drop_table("inbox", schema="scheduler")
