"""Line signatures: a stable hash of a row's content, the `_signature` that 003's ignore-line-signature takes.

Normalisation (so the same line gives the same signature in any file of a data source, whatever the order of
its columns):
- the row's columns as read from the file (ignored columns left out), in the order of their names;
- each cell as text exactly as read (typed Parquet values as Arrow prints them); a missing cell is NUL;
- the cells joined with `\\x1f`, UTF-8, hashed with MD5 after the column names joined the same way and a
  `\\x1e`; the signature is the 32 hex digits.
Joining is vectorised (pyarrow); the digest is the one per-row step (hashlib, in C).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import msgspec

from headwater.ingestion.arrow import Array, RecordBatch, pa, pc


def _as_text(column: Array) -> Array:
    if pa.types.is_string(column.type):
        return column
    if (
        pa.types.is_list(column.type)
        or pa.types.is_struct(column.type)
        or pa.types.is_large_list(column.type)
    ):
        return pa.array(
            [None if v is None else msgspec.json.encode(v).decode() for v in column.to_pylist()], pa.string()
        )
    return pc.cast(column, pa.string())


def _prefix(names: list[str]) -> bytes:
    return ("\x1f".join(names) + "\x1e").encode()


def line_signatures(batch: RecordBatch) -> Array:
    """One signature (32 hex digits) per row of `batch`."""
    if batch.num_rows == 0:
        return pa.array([], pa.string())
    names = sorted(batch.schema.names)
    cells = [pc.fill_null(_as_text(batch.column(name)), "\x00") for name in names]
    joined: Array = pc.binary_join_element_wise(*cells, "\x1f") if len(cells) > 1 else cells[0]
    seed = hashlib.md5(_prefix(names), usedforsecurity=False)
    digests: list[str] = []
    for line in pc.cast(joined, pa.binary()).to_pylist():
        digest = seed.copy()
        digest.update(line)
        digests.append(digest.hexdigest())
    return pa.array(digests, pa.string())


def line_signature(row: Mapping[str, str | None]) -> str:
    """The signature of one row given as column name to text (the same as `line_signatures` gives it)."""
    names = sorted(row)
    digest = hashlib.md5(_prefix(names), usedforsecurity=False)
    digest.update("\x1f".join("\x00" if row[name] is None else str(row[name]) for name in names).encode())
    return digest.hexdigest()
