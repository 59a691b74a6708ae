"""Postgres: tables, repositories and migrations of the `scheduler` schema."""
