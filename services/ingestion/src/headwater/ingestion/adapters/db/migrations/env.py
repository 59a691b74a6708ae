"""Alembic environment of ingestion: version table inside the `ingestion` schema."""

from alembic import context

from headwater.common.db.migrations import run_env

run_env(context.config)
