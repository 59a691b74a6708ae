"""How Arrow types land in each destination: Postgres column types, COPY text, the types Iceberg can hold."""

from __future__ import annotations

import datetime as dt

import pytest

from headwater.ingestion.adapters.connectors.iceberg_destination import for_iceberg
from headwater.ingestion.adapters.connectors.postgres_destination import copy_csv, postgres_type
from headwater.ingestion.arrow import pa


@pytest.mark.parametrize(
    ("arrow", "postgres"),
    [
        (pa.int8(), "smallint"),
        (pa.uint16(), "integer"),
        (pa.uint32(), "bigint"),
        (pa.uint64(), "numeric(20,0)"),
        (pa.float16(), "real"),
        (pa.decimal128(38, 9), "numeric(38,9)"),
        (pa.large_string(), "text"),
        (pa.large_binary(), "bytea"),
        (pa.date64(), "date"),
        (pa.time64("ns"), "time"),
        (pa.timestamp("s", tz="Europe/Paris"), "timestamptz"),
        (pa.duration("ms"), "interval"),
        (pa.map_(pa.string(), pa.int32()), "jsonb"),
        (pa.dictionary(pa.int8(), pa.string()), "text"),
        (pa.null(), "text"),
    ],
)
def test_each_arrow_type_has_a_postgres_column_type(arrow: object, postgres: str) -> None:
    assert postgres_type(arrow) == postgres


def test_copy_text_quotes_texts_leaves_nulls_empty_and_writes_zoned_times_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    batch = pa.RecordBatch.from_pydict(
        {
            "text": pa.array(["", None, 'say "hi"']),
            "at": pa.array(
                [dt.datetime(2026, 1, 1, 13, 0, tzinfo=paris), None, None], pa.timestamp("s", "UTC")
            ),
            "raw": pa.array([b"\x01", None, b""]),
            "took": pa.array([dt.timedelta(seconds=2), None, None], pa.duration("s")),
        }
    )
    assert copy_csv(batch).decode().splitlines() == [
        '"",2026-01-01 12:00:00,"\\x01","2000000 microseconds"',
        ",,,",
        '"say ""hi""",,"\\x",',
    ]


def test_types_iceberg_lacks_are_widened() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "small": pa.array([1], pa.int8()),
            "big": pa.array([2**64 - 1], pa.uint64()),
            "at": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns", tz="Asia/Tokyo")),
            "kind": pa.array(["a"]).dictionary_encode(),
            "empty": pa.array([None], pa.null()),
        }
    )
    widened = for_iceberg(batch)
    assert [field.type for field in widened.schema] == [
        pa.int32(),
        pa.decimal128(20, 0),
        pa.timestamp("us", tz="UTC"),
        pa.string(),
        pa.string(),
    ]
    assert widened.column("at")[0].value == 1_700_000_000_123_456
    assert widened.column("big")[0].as_py() == 2**64 - 1
