"""Headwater scheduler: system schedules (checks, retention, queue monitoring) fired once across replicas."""

SERVICE = "scheduler"
SCHEMA = "scheduler"
