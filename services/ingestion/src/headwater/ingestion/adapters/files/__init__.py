"""Readers of stored items on local disk: CSV/TSV, JSON lines and Parquet, plain or gzip'd, in bounded batches."""

from headwater.ingestion.adapters.files.reader import (
    FileReader,
    RawBatch,
    RejectedRow,
    detect_format,
    open_file,
)

__all__ = ["FileReader", "RawBatch", "RejectedRow", "detect_format", "open_file"]
