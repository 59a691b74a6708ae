"""Syncs: connections (sources and destinations, configurations sealed), jobs, runs, stream states, run logs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from headwater.common.db import columns
from headwater.ingestion import SCHEMA

revision: str = "0006"
down_revision: str | None = "0005"

EMPTY = sa.text("'{}'::jsonb")
LIVE = sa.text("deleted_at IS NULL")


def _who() -> list[sa.Column[str]]:
    return [sa.Column("created_by", sa.String(320)), sa.Column("updated_by", sa.String(320))]


def upgrade() -> None:
    op.create_table(
        "sync_connection",
        columns.identity_key(),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        *columns.timestamps(),
        *_who(),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index(
        "ux_sync_connection_name",
        "sync_connection",
        ["role", "project_id", "name"],
        unique=True,
        postgresql_where=LIVE,
        schema=SCHEMA,
    )
    connection = f"{SCHEMA}.sync_connection.id"
    op.create_table(
        "sync_job",
        columns.identity_key(),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        columns.reference("source_id", connection),
        columns.reference("destination_id", connection),
        sa.Column("streams", JSONB(), nullable=False),
        sa.Column("frequency", sa.String(255)),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("extra", JSONB(), nullable=False, server_default=EMPTY),
        *columns.timestamps(),
        *_who(),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index(
        "ux_sync_job_name",
        "sync_job",
        ["project_id", "name"],
        unique=True,
        postgresql_where=LIVE,
        schema=SCHEMA,
    )
    op.create_index("ix_sync_job_source_id", "sync_job", ["source_id"], schema=SCHEMA)
    op.create_index("ix_sync_job_destination_id", "sync_job", ["destination_id"], schema=SCHEMA)
    op.create_table(
        "sync_run",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        columns.reference("job_id", f"{SCHEMA}.sync_job.id"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("rows", JSONB(), nullable=False, server_default=EMPTY),
        sa.Column("error", sa.Text()),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_sync_run_job_id", "sync_run", ["job_id", "started_at"], schema=SCHEMA)
    op.create_index(
        "ux_sync_run_active",
        "sync_run",
        ["job_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
        schema=SCHEMA,
    )
    op.create_table(
        "sync_state",
        sa.Column(
            "job_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.sync_job.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("stream", sa.String(600), primary_key=True),
        sa.Column("state", JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        schema=SCHEMA,
    )
    op.create_table(
        "sync_log",
        columns.identity_key(),
        sa.Column(
            "run_id",
            UUID(as_uuid=False),
            sa.ForeignKey(f"{SCHEMA}.sync_run.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", JSONB(), nullable=False, server_default=EMPTY),
        schema=SCHEMA,
    )
    op.create_index("ix_sync_log_run_id", "sync_log", ["run_id", "id"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("sync_log", "sync_state", "sync_run", "sync_job", "sync_connection"):
        op.drop_table(table, schema=SCHEMA)
