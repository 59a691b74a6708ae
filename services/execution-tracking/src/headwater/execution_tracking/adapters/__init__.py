"""Adapters of execution-tracking to the outside world: Postgres."""
