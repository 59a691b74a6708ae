"""Line signatures: a stable hash of a row's content, the `_signature` that 003's ignore-line-signature takes.

Normalisation (so the same line gives the same signature in any file of a data source):
- the row's columns as read from the file (ignored columns left out), in the order of their names;
- each value as text with surrounding whitespace removed; a missing cell counts as NUL (`\\x00`);
- `name \\x1e value` per column, joined with `\\x1f`, UTF-8 encoded, then MD5, as 32 hex digits.
Normalising and joining are vectorised (pyarrow); the digest is the one per-row step (hashlib, in C).
"""

from __future__ import annotations

import hashlib

from headwater.ingestion.arrow import Array, RecordBatch, pa, pc


def _as_text(column: Array) -> Array:
    if pa.types.is_string(column.type):
        return column
    if (
        pa.types.is_list(column.type)
        or pa.types.is_struct(column.type)
        or pa.types.is_large_list(column.type)
    ):
        import msgspec

        return pa.array(
            [None if v is None else msgspec.json.encode(v).decode() for v in column.to_pylist()], pa.string()
        )
    return pc.cast(column, pa.string())


def line_signatures(batch: RecordBatch) -> Array:
    """One signature (32 hex digits) per row of `batch`."""
    if batch.num_rows == 0:
        return pa.array([], pa.string())
    parts: list[Array | str] = []
    for name in sorted(batch.schema.names):
        value = pc.fill_null(pc.utf8_trim_whitespace(_as_text(batch.column(name))), "\x00")
        parts.append(pc.binary_join_element_wise(name, value, "\x1e"))
    joined: Array = pc.binary_join_element_wise(*parts, "\x1f") if len(parts) > 1 else parts[0]
    md5 = hashlib.md5
    return pa.array(
        [md5(v.encode(), usedforsecurity=False).hexdigest() for v in joined.to_pylist() if v is not None],
        pa.string(),
    )


def line_signature(row: dict[str, str | None]) -> str:
    """The signature of one row given as column name to text (the same as `line_signatures` gives it)."""
    text = "\x1f".join(
        f"{name}\x1e{(row[name] or '').strip() if row[name] is not None else chr(0)}" for name in sorted(row)
    )
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
