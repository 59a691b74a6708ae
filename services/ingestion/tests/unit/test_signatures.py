"""Line signatures: stable, insensitive to column order and surrounding blanks, sensitive to content."""

from __future__ import annotations

import pyarrow as pa

from headwater.ingestion.domain.signatures import line_signature, line_signatures


def test_the_vectorised_and_the_single_row_signature_agree_and_ignore_column_order() -> None:
    batch = pa.RecordBatch.from_pydict({"b": ["2", " 2", None], "a": ["1", "1", "1"]})
    swapped = pa.RecordBatch.from_pydict({"a": ["1", "1", "1"], "b": ["2", "2", None]})
    signatures = line_signatures(batch).to_pylist()
    assert signatures[0] == line_signatures(swapped).to_pylist()[0]
    assert signatures[0] != signatures[1]  # cells are taken as written
    assert signatures[0] == line_signature({"a": "1", "b": "2"})
    assert line_signature({"a": "1", "b": "2"}) != line_signature({"x": "1", "y": "2"})  # names count
    assert signatures[2] == line_signature({"a": "1", "b": None})
    assert signatures[2] != line_signature({"a": "1", "b": ""})  # a missing cell is not an empty one
    assert all(len(s) == 32 for s in signatures if s)


def test_signatures_of_typed_columns_and_empty_batches() -> None:
    typed = pa.RecordBatch.from_pydict({"n": pa.array([1, 2], pa.int64())})
    assert line_signatures(typed).to_pylist() == [line_signature({"n": "1"}), line_signature({"n": "2"})]
    assert len(line_signatures(typed.slice(0, 0))) == 0
