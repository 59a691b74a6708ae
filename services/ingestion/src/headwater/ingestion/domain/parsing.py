"""How a data source's files are read: 003's data-source parse settings, with their names and defaults."""

from __future__ import annotations

from enum import StrEnum

import msgspec

# What a cell holds when it means "no value", unless the data source overrides it (`null_values_override`).
DEFAULT_NULL_VALUES: tuple[str, ...] = (
    "",
    "null",
    "NULL",
    "Null",
    "None",
    "none",
    "N/A",
    "n/a",
    "NA",
    "#N/A",
)
DEFAULT_BOOLEAN_TRUE: tuple[str, ...] = ("true", "t", "yes", "y", "1", "on")
DEFAULT_BOOLEAN_FALSE: tuple[str, ...] = ("false", "f", "no", "n", "0", "off")
DEFAULT_ARRAY_DELIMITERS: tuple[str, ...] = ("|",)
DEFAULT_HEADER_CHUNK = 1 << 20


class FileFormat(StrEnum):
    """What a stored item holds once decompressed; `None` where a format is asked for means "detect it"."""

    CSV = "csv"
    TSV = "tsv"
    JSONL = "jsonl"
    PARQUET = "parquet"


class ParseSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """003's parse settings of a data source (the `*_override` ones win over the dataset's settings model).

    - `raw_headers`: when set, the file has no header line and these are its column names, in order.
    - `identify_header_by_column_names`: the header is the first line (within `chunk_size_to_read_for_header`
      bytes) holding all these names; the lines above it are skipped. Else the first line is the header.
    - `ignore_column_ids`: 0-based positions (as strings, like 003) of file columns that are dropped;
      `ignore_column_names_override`: names of file columns that are dropped.
    - `null_values_override` / `null_values_per_column_override`: cell texts read as null (the per-column list
      replaces the general one for that column).
    - `boolean_true_override` / `boolean_false_override`: texts read as true / false (case-insensitive).
    - `datetime_formats_override` / `datetime_formats_per_column_override`: strptime formats tried in order
      for datetime fields; when none is given, ISO 8601 (date, date and time, with or without offset).
    - `infer_datetime_for_columns_override`: for these columns the format is guessed per batch among common
      ones (ISO, d/m/Y, m/d/Y, Y/m/d, d.m.Y, with or without time) and then held for the batch.
    - `array_delimiters_override`: separators of the items of an array cell (a cell `[...]` is read as JSON).
    - `fields_to_expand_override`: JSON-lines object fields flattened into `<field>_<key>` columns.
    - `quarantine_row_if_row_level_issue_override`: a row with too many / too few cells (or a JSON line that
      is not an object) is quarantined when true, and fails the file when false.
    """

    encoding_probably: str = "utf-8"
    identify_header_by_column_names: tuple[str, ...] = ()
    raw_headers: tuple[str, ...] = ()
    chunk_size_to_read_for_header: int = DEFAULT_HEADER_CHUNK
    csv_delimiter: str = ","
    csv_quotechar: str = '"'
    csv_escapechar: str | None = None
    ignore_column_ids: tuple[str, ...] = ()
    ignore_column_names_override: tuple[str, ...] = ()
    null_values_override: tuple[str, ...] = DEFAULT_NULL_VALUES
    null_values_per_column_override: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    boolean_true_override: tuple[str, ...] = DEFAULT_BOOLEAN_TRUE
    boolean_false_override: tuple[str, ...] = DEFAULT_BOOLEAN_FALSE
    datetime_formats_override: tuple[str, ...] = ()
    datetime_formats_per_column_override: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    infer_datetime_for_columns_override: tuple[str, ...] = ()
    array_delimiters_override: tuple[str, ...] = DEFAULT_ARRAY_DELIMITERS
    fields_to_expand_override: tuple[str, ...] = ()
    quarantine_row_if_row_level_issue_override: bool = True

    def __post_init__(self) -> None:
        if len(self.csv_delimiter) != 1:
            raise ValueError(f"csv_delimiter must be one character, got {self.csv_delimiter!r}")
        if len(self.csv_quotechar) != 1:
            raise ValueError(f"csv_quotechar must be one character, got {self.csv_quotechar!r}")
        if self.csv_escapechar is not None and len(self.csv_escapechar) != 1:
            raise ValueError(f"csv_escapechar must be one character, got {self.csv_escapechar!r}")
        for position in self.ignore_column_ids:
            if not position.strip().isdigit():
                raise ValueError(f"ignore_column_ids holds 0-based column positions, got {position!r}")
        if any(not d for d in self.array_delimiters_override):
            raise ValueError("array_delimiters_override cannot hold an empty delimiter")
        if self.chunk_size_to_read_for_header < 1024:
            raise ValueError("chunk_size_to_read_for_header must be at least 1024 bytes")

    def null_values_for(self, column: str) -> tuple[str, ...]:
        return self.null_values_per_column_override.get(column, self.null_values_override)

    def datetime_formats_for(self, column: str) -> tuple[str, ...]:
        return self.datetime_formats_per_column_override.get(column, self.datetime_formats_override)

    def kept_columns(self, names: list[str]) -> list[int]:
        """Positions of the file columns that are read (neither ignored by position nor by name)."""
        by_id = {int(p) for p in self.ignore_column_ids}
        by_name = set(self.ignore_column_names_override)
        return [i for i, name in enumerate(names) if i not in by_id and name not in by_name]
