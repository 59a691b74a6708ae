"""Readers of stored items on local disk: CSV/TSV, JSON lines and Parquet, plain or gzip'd, in bounded batches
(`open_file` implements the service layer's `OpenFile` port)."""

from headwater.ingestion.adapters.files.reader import detect_format, open_file

__all__ = ["detect_format", "open_file"]
