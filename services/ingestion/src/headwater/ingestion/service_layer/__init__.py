"""Use cases of the ingestion engine: a file into a dataset table exactly once, bad rows reprocessed."""
