"""Postgres helpers: schema-scoped metadata, engines, per-schema migrations."""

from headwater.common.db.engine import Timeouts, create_engine, to_async_dsn
from headwater.common.db.metadata import schema_metadata

__all__ = ["Timeouts", "create_engine", "schema_metadata", "to_async_dsn"]
