"""Alembic environment of the gateway: version table inside the `gateway` schema."""

from alembic import context

from headwater.common.db.migrations import run_env

run_env(context.config)
