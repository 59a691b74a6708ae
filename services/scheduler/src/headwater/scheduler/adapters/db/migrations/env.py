"""Alembic environment of the scheduler: version table inside the `scheduler` schema."""

from alembic import context

from headwater.common.db.migrations import run_env

run_env(context.config)
