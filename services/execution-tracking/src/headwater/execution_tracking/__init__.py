"""Headwater execution-tracking: the system of record for pipelines, pipeline types and their runs."""

SERVICE = "execution-tracking"
SCHEMA = "execution_tracking"
