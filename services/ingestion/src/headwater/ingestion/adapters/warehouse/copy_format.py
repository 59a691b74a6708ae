"""Arrow batches as COPY ... (FORMAT csv) input, written by pyarrow's CSV writer (no per-row Python)."""

from __future__ import annotations

import io

from headwater.ingestion.arrow import Array, RecordBatch, pa, pa_csv, pc


def _array_literal(column: Array) -> Array:
    """A list<string> column as Postgres array literals (`{"a","b"}`), nulls kept."""
    lengths = pc.fill_null(pc.list_value_length(column), 0)
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cast(pc.cumulative_sum(lengths), pa.int32())])
    items = pc.list_flatten(column)
    escaped = pc.replace_substring(pc.replace_substring(items, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, quoted), ",")
    literal = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), literal)


def _prepared(column: Array) -> Array:
    if pa.types.is_list(column.type):
        return _array_literal(column)
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        # UTC wall time without zone: Arrow writes it 30x faster than a zoned one, and the warehouse's
        # sessions run in UTC (`PostgresWarehouse.open`), so Postgres reads the same instant.
        return pc.cast(column, pa.timestamp(column.type.unit))
    return column


def to_copy_csv(batch: RecordBatch) -> bytes:
    """`batch` as CSV that `COPY ... (FORMAT csv)` reads back exactly: every text quoted (so an empty text stays
    empty), nulls as unquoted empty cells, timestamps as UTC wall time (read by a UTC session), arrays as
    array literals."""
    if batch.num_rows == 0:
        return b""
    columns = [_prepared(column) for column in batch.columns]
    prepared = pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    out = io.BytesIO()
    pa_csv.write_csv(prepared, out, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()
