"""Arrow batches as COPY input, without per-row Python: binary (`to_copy_binary`: cells built by numpy and joined
by `pyarrow.compute`), or CSV written by pyarrow's CSV writer (`to_copy_csv`).

Binary spares Postgres the text parsing of every number and timestamp (its input functions);
CSV is the fallback for a column whose Arrow type is not the type its table column has.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

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


# COPY ... (FORMAT binary): a signature, flags and header extension; per row the field count and per field a
# big-endian int32 length (-1: NULL) then the value in its type's binary form; -1 as int16 at the end.
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
BINARY_TRAILER = b"\xff\xff"
_NULL_CELL = b"\xff\xff\xff\xff"
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_TEXT_OID = 25
_MAX_BYTES = (1 << 31) - 1  # a binary array's offsets are int32: a larger batch is encoded in halves


def _binary(value: bytes) -> Any:
    return pa.scalar(value, pa.binary())


def _items(values: npt.NDArray[Any]) -> Array:
    """A binary array whose items are the elements of `values` (any fixed-width dtype), without a copy."""
    width = values.dtype.itemsize
    offsets = np.arange(0, (len(values) + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(values))]
    )


def _or_null(column: Array, cells: Array) -> Array:
    return pc.if_else(pc.is_valid(column), cells, _binary(_NULL_CELL)) if column.null_count else cells


def _fixed_cells(column: Array, dtype: str) -> tuple[Array, npt.NDArray[np.int64]]:
    """Cells of a fixed-width type: length and big-endian value (`dtype`) side by side in one numpy record."""
    filled = (
        pc.fill_null(column, False if pa.types.is_boolean(column.type) else 0)
        if column.null_count
        else column
    )
    values = filled.to_numpy(zero_copy_only=False)
    packed = np.empty(len(values), dtype=[("length", ">i4"), ("value", dtype)])
    packed["length"] = np.dtype(dtype).itemsize
    packed["value"] = values
    return _or_null(column, _items(packed)), _sizes(column, np.full(len(values), packed.itemsize, np.int64))


def _sizes(column: Array, sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Bytes of each cell (a NULL cell is its 4-byte length only)."""
    if column.null_count:
        sizes = np.where(pc.is_valid(column).to_numpy(zero_copy_only=False), sizes, 4)
    return sizes


def _varying_cells(
    column: Array, body: Array, lengths: npt.NDArray[np.int64]
) -> tuple[Array, npt.NDArray[np.int64]]:
    cells = pc.binary_join_element_wise(_items(lengths.astype(">i4")), body, _binary(b""))
    return _or_null(column, cells), _sizes(column, lengths + 4)


def _text_cells(column: Array, version: bytes = b"") -> tuple[Array, npt.NDArray[np.int64]]:
    """text cells (the UTF-8 bytes), or jsonb ones (a version byte, then the JSON text)."""
    data = pc.cast(pc.fill_null(column, "") if column.null_count else column, pa.binary())
    if version:
        data = pc.binary_join_element_wise(_binary(version), data, _binary(b""))
    lengths = pc.binary_length(data).to_numpy(zero_copy_only=False).astype(np.int64)
    return _varying_cells(column, data, lengths)


def _text_array_cells(column: Array) -> tuple[Array, npt.NDArray[np.int64]]:
    """text[] cells: dimensions, flags, element type, then size and lower bound of the one dimension, then each
    item's length and bytes (an empty list is an array of no dimension)."""
    n = len(column)
    counts = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(column)
    items = pc.cast(pc.fill_null(flat, "") if flat.null_count else flat, pa.binary())
    item_lengths = pc.binary_length(items).to_numpy(zero_copy_only=False).astype(np.int64)
    item_cells = pc.binary_join_element_wise(_items(item_lengths.astype(">i4")), items, _binary(b""))
    if flat.null_count:
        item_cells = pc.if_else(pc.is_valid(flat), item_cells, _binary(_NULL_CELL))
        item_lengths = np.where(pc.is_valid(flat).to_numpy(zero_copy_only=False), item_lengths, 0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    joined = pc.binary_join(
        pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), item_cells), _binary(b"")
    )
    header = np.empty(n, dtype=[(f, ">i4") for f in ("ndim", "has_null", "oid", "size", "lower")])
    header["ndim"] = counts > 0
    header["has_null"] = flat.null_count > 0
    header["oid"] = _TEXT_OID
    header["size"] = counts
    header["lower"] = 1
    no_dimension = np.zeros(1, dtype=[(f, ">i4") for f in ("ndim", "has_null", "oid")])
    no_dimension["oid"] = _TEXT_OID
    headers = pc.if_else(pa.array(counts > 0), _items(header), _binary(no_dimension.tobytes()))
    item_bytes = np.zeros(len(item_lengths) + 1, dtype=np.int64)
    np.cumsum(item_lengths + 4, out=item_bytes[1:])
    lengths = np.diff(item_bytes[offsets]) + np.where(counts > 0, 20, 12)
    body = pc.binary_join_element_wise(headers, joined, _binary(b""))
    return _varying_cells(column, body, lengths)


def _cells(column: Array, postgres_type: str) -> tuple[Array, npt.NDArray[np.int64]] | None:
    """The column's cells as `postgres_type` in binary and their sizes; None when the pair is not one the
    engine writes (the batch then goes as CSV, which Postgres casts)."""
    t = column.type
    match postgres_type:
        case "bigint" if pa.types.is_int64(t):
            return _fixed_cells(column, ">i8")
        case "double precision" if pa.types.is_float64(t):
            return _fixed_cells(column, ">f8")
        case "boolean" if pa.types.is_boolean(t):
            return _fixed_cells(column, "u1")
        case "timestamp with time zone" if pa.types.is_timestamp(t):
            micros = pc.cast(pc.cast(column, pa.timestamp("us", tz=t.tz)), pa.int64())
            return _fixed_cells(pc.subtract(micros, _POSTGRES_EPOCH_US), ">i8")
        case "text" if pa.types.is_string(t):
            return _text_cells(column)
        case "jsonb" if pa.types.is_string(t):
            return _text_cells(column, b"\x01")
        case "text[]" if pa.types.is_list(t) and pa.types.is_string(t.value_type):
            return _text_array_cells(column)
        case _:
            return None


def to_copy_binary(batch: RecordBatch, postgres_types: Mapping[str, str]) -> bytes | None:
    """`batch` as `COPY ... (FORMAT binary)` input for columns of `postgres_types` (name to `format_type`),
    or None when a column's Arrow type is not the one its table column has (e.g. a field retyped since its
    column was made): such a batch goes as CSV."""
    n = batch.num_rows
    if n == 0:
        return BINARY_HEADER + BINARY_TRAILER
    row_sizes = np.full(n, 2, np.int64)
    cells: list[Array] = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        postgres_type = postgres_types.get(name)
        done = None if postgres_type is None else _cells(column, postgres_type)
        if done is None:
            return None
        cells.append(done[0])
        row_sizes += done[1]
    if int(row_sizes.sum()) > _MAX_BYTES:
        if n == 1:
            raise ValueError("a row is larger than 2 GiB")
        half = n // 2
        first = to_copy_binary(batch.slice(0, half), postgres_types)
        second = to_copy_binary(batch.slice(half), postgres_types)
        assert first is not None
        assert second is not None
        return first[: -len(BINARY_TRAILER)] + second[len(BINARY_HEADER) :]
    count = _binary(np.array([len(cells)], dtype=">i2").tobytes())
    rows = pc.binary_join_element_wise(count, *cells, _binary(b""))
    offsets = rows.buffers()[1]
    first, last = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=rows.offset * 4)[[0, n]]
    payload = rows.buffers()[2]
    return b"".join((BINARY_HEADER, memoryview(payload)[int(first) : int(last)], BINARY_TRAILER))
