"""What the ingestion service talks to: its own database, object storage, files on local disk and the destination
Postgres."""
