"""Headwater ingestion: files stored, parsed, validated and loaded into destinations, bad rows quarantined."""

SERVICE = "ingestion"
SCHEMA = "ingestion"
