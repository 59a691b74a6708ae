"""What the ingestion service talks to: files on local disk and the destination Postgres."""
