"""The warehouse's COPY encodings: binary loads exactly what CSV loads, for every type a field can have, and a
column retyped since its table column was made falls back to CSV; the CSV reader's memory stays bounded."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pyarrow as pa
import pytest

from headwater.ingestion.adapters.files import delimited, open_file
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.adapters.warehouse.copy_format import to_copy_binary
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.validation import FieldRule, FieldType

pytestmark = pytest.mark.integration

RULES = [
    FieldRule(field_name="n", json_schema_field_type=FieldType.INTEGER),
    FieldRule(field_name="x", json_schema_field_type=FieldType.NUMBER),
    FieldRule(field_name="b", json_schema_field_type=FieldType.BOOLEAN),
    FieldRule(field_name="at", json_schema_format="date-time"),
    FieldRule(field_name="s"),
    FieldRule(field_name="o", json_schema_field_type=FieldType.OBJECT),
    FieldRule(field_name="tags", json_schema_field_type=FieldType.ARRAY),
]
HIDDEN = ["_stored_item_id", "_data_source_id", "_line_number", "_signature"]


def every_type() -> pa.RecordBatch:
    """Rows with edge values of every field type, nulls included, plus the hidden columns."""
    return pa.RecordBatch.from_pydict(
        {
            "n": pa.array([0, -(2**63), 2**63 - 1, None, 42], pa.int64()),
            "x": pa.array([0.0, -1.5e300, math.inf, None, 1 / 3], pa.float64()),
            "b": pa.array([True, False, None, True, False], pa.bool_()),
            "at": pa.array(
                [
                    datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                    datetime(1969, 7, 20, 20, 17, tzinfo=UTC),
                    datetime(2000, 1, 1, tzinfo=UTC),
                    None,
                    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "s": pa.array(["", 'Zoë, "quoted"\nand a line', "日本語", None, "\\backslash"], pa.string()),
            "o": pa.array(['{"a": [1, 2]}', "{}", None, '{"é": null}', '{"k": "v"}'], pa.string()),
            "tags": pa.array([["a", "b"], [], None, [""], ['{"x"}', "c,d"]], pa.list_(pa.string())),
            "_stored_item_id": pa.array([1] * 5, pa.int64()),
            "_data_source_id": pa.array([None] * 5, pa.int64()),
            "_line_number": pa.array(range(2, 7), pa.int64()),
            "_signature": pa.array(["sig", None, "", "s", "t"], pa.string()),
        }
    )


async def loaded(db: asyncpg.Connection, w: PostgresWarehouse, table: str) -> list[tuple[object, ...]]:
    columns = ", ".join(f'"{r.field_name}"' for r in RULES)
    records = await db.fetch(
        f"SELECT {columns}, _stored_item_id, _data_source_id, _line_number, _signature"
        f' FROM "{w.schema}"."{table}" ORDER BY _line_number'
    )
    return [tuple(r.values()) for r in records]


async def load(w: PostgresWarehouse, table: str, batch: pa.RecordBatch, *, binary: bool) -> str:
    await w.ensure_table(table, RULES)
    async with w.loading(table, 1) as loading:
        rows = w.encode_rows(batch, loading.column_types if binary else None)
        await loading.copy_rows(rows)
    return rows.format


async def test_binary_copy_loads_what_csv_loads_for_every_field_type(
    warehouse: PostgresWarehouse, db: asyncpg.Connection
) -> None:
    batch = every_type()
    assert await load(warehouse, "by_binary", batch, binary=True) == "binary"
    assert await load(warehouse, "by_csv", batch, binary=False) == "csv"
    by_binary = await loaded(db, warehouse, "by_binary")
    assert by_binary == await loaded(db, warehouse, "by_csv")
    assert by_binary[1][:3] == (-(2**63), -1.5e300, False)
    assert by_binary[1][3] == datetime(1969, 7, 20, 20, 17, tzinfo=UTC)
    assert by_binary[1][6] == []
    assert by_binary[3][6] == [""]
    assert by_binary[0][4] == ""  # an empty text stays empty, not NULL
    assert by_binary[3][4] is None


async def test_a_column_retyped_since_its_table_column_was_made_goes_as_csv(
    warehouse: PostgresWarehouse, db: asyncpg.Connection
) -> None:
    await warehouse.ensure_table("retyped", [FieldRule(field_name="code")])  # a text column
    rules = [FieldRule(field_name="code", json_schema_field_type=FieldType.INTEGER)]
    batch = pa.RecordBatch.from_pydict(
        {
            "code": pa.array([7, None], pa.int64()),
            "_stored_item_id": pa.array([1, 1], pa.int64()),
            "_line_number": pa.array([2, 3], pa.int64()),
        }
    )
    await warehouse.ensure_table("retyped", rules)  # columns are never retyped: `code` stays text
    async with warehouse.loading("retyped", 1) as loading:
        assert loading.column_types["code"] == "text"
        assert to_copy_binary(batch, loading.column_types) is None
        rows = warehouse.encode_rows(batch, loading.column_types)
        assert rows.format == "csv"
        await loading.copy_rows(rows)
    stored = await db.fetch(f'SELECT code FROM "{warehouse.schema}".retyped ORDER BY _line_number')
    assert [r["code"] for r in stored] == ["7", None]


def test_the_csv_reader_reads_a_bounded_number_of_blocks_ahead_of_the_batches_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "BLOCK_SIZE", 64 << 10)
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("id,text\n")
        for i in range(60_000):
            f.write(f"{i},{'x' * 40}\n")  # ~3 MB: ~45 blocks
    ahead: list[int] = []
    original = delimited._PacedInput.read  # pyright: ignore[reportPrivateUsage]

    def spied(self: delimited._PacedInput, size: int = -1) -> bytes:  # pyright: ignore[reportPrivateUsage]
        data = original(self, size)
        ahead.append(self.blocks_ahead)
        return data

    monkeypatch.setattr(delimited._PacedInput, "read", spied)  # pyright: ignore[reportPrivateUsage]
    seen = 0
    for batch in open_file(path, ParseSettings()).batches(100_000):
        assert batch.line_numbers.to_pylist() == list(range(seen + 2, seen + 2 + batch.rows.num_rows))
        seen += batch.rows.num_rows
    assert seen == 60_000
    assert len(ahead) > 40
    assert max(ahead) <= delimited.READ_AHEAD_BLOCKS + 1


def test_line_numbers_stay_right_across_batches_when_ragged_rows_are_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    lines = ["id,name"]
    ragged = {5, 6, 250, 251, 999, 1000, 1001}
    for line in range(2, 1202):
        lines.append(f"{line},a,extra" if line in ragged else f"{line},a")
    path.write_text("\n".join(lines) + "\n")
    good: list[int] = []
    refused: list[int] = []
    for batch in open_file(path, ParseSettings()).batches(97):
        numbers = batch.line_numbers.to_pylist()
        assert numbers == [int(v) for v in batch.rows.column("id").to_pylist()]
        good += numbers
        refused += [r.line_number for r in batch.rejected]
    assert sorted(refused) == sorted(ragged)
    assert good == [line for line in range(2, 1202) if line not in ragged]
