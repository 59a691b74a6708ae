"""Records of loads and quarantined rows, as they cross from the warehouse to the use cases."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from headwater.ingestion.arrow import Array, RecordBatch


class LoadSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger keeps of a loaded file."""

    data_source_id: int | None
    rows_loaded: int
    rows_quarantined: int
    rows_ignored: int
    sha256: str | None = None


class EncodedRows(msgspec.Struct, frozen=True):
    """Rows in the warehouse's bulk-load input (for Postgres, COPY input in `format`): opaque to the use
    cases, which only hand them from the worker thread that encodes them to the load."""

    columns: list[str]
    format: Literal["binary", "csv"]
    data: bytes


class QuarantineRecord(msgspec.Struct, frozen=True):
    """One bad row as the quarantine table stores it (`row` is the raw row as JSON text)."""

    stored_item_id: int
    data_source_id: int | None
    line_number: int
    signature: str
    field_name: str | None
    field_value: str | None
    msg: str
    alert_type: str
    row: str


class QuarantinedRow(msgspec.Struct, frozen=True):
    """A bad row read back for reprocessing."""

    id: int
    stored_item_id: int
    data_source_id: int | None
    line_number: int
    signature: str
    row: dict[str, Any]


class IgnoredFile(msgspec.Struct, frozen=True):
    rows_deleted: int
    bad_rows_deleted: int


class DataPage(msgspec.Struct, frozen=True):
    """One page of 003's Get Data (`results` rows as column name to value)."""

    total_rows: int
    total_page_count: int
    fields: list[str]
    results: list[dict[str, Any]]


class RejectedRow(msgspec.Struct, frozen=True):
    """A record the reader could not turn into a row (too many / too few cells, a JSON line that is no object)."""

    line_number: int
    text: str
    reason: str


class RawBatch(msgspec.Struct, frozen=True):
    """Rows as read (CSV and JSON cells as text, Parquet values typed), each row's line number in the file, and
    the records refused on the way since the previous batch."""

    rows: RecordBatch
    line_numbers: Array
    rejected: list[RejectedRow]


class OfDataSource(msgspec.Struct, frozen=True):
    """Selects the bad rows of one data source (`data_source_id` None: the rows of files of no data source)."""

    data_source_id: int | None
