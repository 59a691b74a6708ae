"""execution-tracking's Postgres schema `execution_tracking`: tables, queries, migrations."""
