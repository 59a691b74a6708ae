"""Alembic environment of quality-alerting: version table inside the `quality_alerting` schema."""

from alembic import context

from headwater.common.db.migrations import run_env

run_env(context.config)
