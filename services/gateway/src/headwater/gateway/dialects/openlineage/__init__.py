"""OpenLineage ingestion over HTTP, at the path Marquez serves it (`POST /api/v1/lineage`)."""
