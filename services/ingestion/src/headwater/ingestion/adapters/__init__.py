"""Adapters of the ingestion service: object storage (and, from other branches, the database)."""
