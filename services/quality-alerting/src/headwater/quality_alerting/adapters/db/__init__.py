"""Postgres: tables, repositories and migrations of the `quality_alerting` schema."""
