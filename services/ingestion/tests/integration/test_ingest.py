"""The ingestion engine on a real Postgres: good rows loaded and bad rows quarantined exactly once, even across a
second ingest and a load cancelled mid-file; bad files refused with a reason; reprocess, ignore, page reads."""

from __future__ import annotations

import asyncio
import gzip
import io
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.domain.errors import InvalidQuery
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.records import EncodedRows
from headwater.ingestion.domain.signatures import line_signature
from headwater.ingestion.domain.validation import FieldRule, FieldType
from headwater.ingestion.service_layer.ingest import ingest_file
from headwater.ingestion.service_layer.reprocess import ignore_file, reprocess_bad_rows

pytestmark = pytest.mark.integration

RULES = [
    FieldRule(field_name="id", json_schema_field_type=FieldType.INTEGER, is_required=True),
    FieldRule(field_name="name"),
    FieldRule(field_name="score", json_schema_field_type=FieldType.NUMBER, minimum=0, maximum=100),
    FieldRule(field_name="active", json_schema_field_type=FieldType.BOOLEAN),
    FieldRule(field_name="born", json_schema_format="date-time"),
    FieldRule(field_name="tags", json_schema_field_type=FieldType.ARRAY),
]
HEADER = "id,name,score,active,born,tags\n"
SETTINGS = ParseSettings()


def csv_file(tmp_path: Path, body: str, name: str = "data.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def good_lines(first: int, count: int) -> str:
    return "".join(
        f"{i},name {i},{i % 100},yes,2024-01-0{1 + i % 9}T10:00:00Z,a|b\n"
        for i in range(first, first + count)
    )


async def rows(db: asyncpg.Connection, w: PostgresWarehouse, table: str) -> list[asyncpg.Record]:
    return await db.fetch(f'SELECT * FROM "{w.schema}"."{table}" ORDER BY _line_number')


async def bad_rows(db: asyncpg.Connection, w: PostgresWarehouse, table: str) -> list[asyncpg.Record]:
    return await db.fetch(f'SELECT * FROM "{w.schema}"."{table}__quarantine" ORDER BY _line_number')


async def ingest(w: PostgresWarehouse, path: Path, stored_item_id: int = 1, **kw: object):  # type: ignore[no-untyped-def]
    return await ingest_file(
        path,
        settings=kw.pop("settings", SETTINGS),  # type: ignore[arg-type]
        rules=kw.pop("rules", RULES),  # type: ignore[arg-type]
        warehouse=w,
        open_file=open_file,
        table="people",
        stored_item_id=stored_item_id,
        data_source_id=7,
        **kw,  # type: ignore[arg-type]
    )


async def test_good_rows_are_loaded_typed_and_bad_rows_quarantined_with_their_first_failing_field(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path,
        '1,"Ann, the first",12.5,yes,2024-01-02T03:04:05Z,a|b\n'
        "x,Bob,1,no,2024-01-02,\n"  # id is not an integer
        "3,Cy,101,no,bad-date,\n"  # score above maximum comes first
        '4,"",,,,\n'
        "5,Di,5,maybe,2024-01-02,\n",  # boolean
    )
    report = await ingest(warehouse, path)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 2, 3)
    assert report.bad_rows_by_alert_type == {
        "integer_casting": 1,
        "maximum_violation": 1,
        "boolean_casting": 1,
    }
    assert report.sha256 is not None
    assert report.file_format == "csv"
    loaded = await rows(db, warehouse, "people")
    assert [(r["id"], r["name"], r["score"], r["active"], r["tags"]) for r in loaded] == [
        (1, "Ann, the first", 12.5, True, ["a", "b"]),
        (4, None, None, None, None),
    ]
    assert loaded[0]["born"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [(r["_line_number"], r["_stored_item_id"], r["_data_source_id"]) for r in loaded] == [
        (2, 1, 7),
        (5, 1, 7),
    ]
    bad = await bad_rows(db, warehouse, "people")
    assert [(r["_line_number"], r["_field_name"], r["_field_value"], r["_alert_type"]) for r in bad] == [
        (3, "id", "x", "integer_casting"),
        (4, "score", "101", "maximum_violation"),
        (6, "active", "maybe", "boolean_casting"),
    ]
    assert '"name": "Bob"' in bad[0]["_row"]
    assert len(bad[0]["_signature"]) == 32


async def test_a_second_ingest_of_the_same_stored_item_writes_nothing(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, good_lines(1, 50) + "oops,a,1,yes,2024-01-01,\n")
    first = await ingest(warehouse, path)
    again = await ingest(warehouse, path)
    assert not first.already_loaded
    assert again.already_loaded
    assert (again.rows_loaded, again.rows_quarantined) == (50, 1)
    assert len(await rows(db, warehouse, "people")) == 50
    assert len(await bad_rows(db, warehouse, "people")) == 1
    both = await asyncio.gather(
        ingest(warehouse, path, stored_item_id=2), ingest(warehouse, path, stored_item_id=2)
    )
    assert sorted(r.already_loaded for r in both) == [False, True]
    assert len(await rows(db, warehouse, "people")) == 100


async def test_a_load_cancelled_between_batches_leaves_nothing_and_a_rerun_loads_everything_once(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, good_lines(1, 3000))
    copied = asyncio.Event()
    original = PostgresWarehouse.encode_rows

    def slow_encode(batch: pa.RecordBatch, column_types: Mapping[str, str] | None = None) -> EncodedRows:
        copied.set()
        import time

        time.sleep(0.05)
        return original(batch, column_types)

    warehouse.encode_rows = slow_encode  # type: ignore[method-assign]
    task = asyncio.create_task(ingest(warehouse, path, batch_rows=100))
    await copied.wait()
    await asyncio.sleep(0.3)  # a few batches are COPYed by now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    warehouse.encode_rows = original  # type: ignore[method-assign]
    assert await db.fetchval(f'SELECT count(*) FROM "{warehouse.schema}".people') == 0
    report = await ingest(warehouse, path, batch_rows=100)
    assert report.rows_loaded == 3000
    loaded = await rows(db, warehouse, "people")
    assert [r["_line_number"] for r in loaded] == list(range(2, 3002))


async def test_ignored_signatures_are_dropped_on_arrival(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    bad_path = csv_file(tmp_path, "zz,a,1,yes,2024-01-01,\n" + good_lines(1, 3), name="first.csv")
    await ingest(warehouse, bad_path, stored_item_id=1)
    signature = (await bad_rows(db, warehouse, "people"))[0]["_signature"]
    dropped = await warehouse.delete_bad_rows_with_signatures("people", 7, [signature])
    assert dropped == 1
    again = csv_file(tmp_path, "zz,a,1,yes,2024-01-01,\n" + good_lines(10, 2), name="again.csv")
    report = await ingest(warehouse, again, stored_item_id=2, ignored_signatures={signature})
    assert (report.rows_ignored, report.rows_quarantined, report.rows_loaded) == (1, 0, 2)
    assert await bad_rows(db, warehouse, "people") == []


async def test_reprocess_after_a_rule_change_moves_the_rows_that_now_pass(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, "1,a,150,yes,2024-01-01,\n2,b,250,yes,2024-01-01,\n3,c,abc,yes,2024-01-01,\n")
    await ingest(warehouse, path)
    assert len(await bad_rows(db, warehouse, "people")) == 3
    wider = [
        *(r for r in RULES if r.field_name != "score"),
        FieldRule(field_name="score", json_schema_field_type=FieldType.NUMBER, minimum=0, maximum=200),
    ]
    report = await reprocess_bad_rows(warehouse, table="people", rules=wider, settings=SETTINGS)
    assert (report.checked, report.moved, report.still_bad) == (3, 1, 2)
    moved = await rows(db, warehouse, "people")
    assert [(r["id"], r["score"], r["_line_number"], r["_stored_item_id"]) for r in moved] == [
        (1, 150.0, 2, 1)
    ]
    left = await bad_rows(db, warehouse, "people")
    assert [(r["_field_value"], r["_alert_type"]) for r in left] == [
        ("250", "maximum_violation"),
        ("abc", "number_casting"),
    ]
    assert "200" in left[0]["_msg"]


async def test_ignore_file_removes_its_rows_and_a_later_ingest_of_it_is_a_no_op(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await ingest(warehouse, csv_file(tmp_path, good_lines(1, 5) + "q,,,,,\n", name="a.csv"), stored_item_id=1)
    await ingest(warehouse, csv_file(tmp_path, good_lines(6, 5), name="b.csv"), stored_item_id=2)
    deleted = await ignore_file(warehouse, table="people", stored_item_id=1)
    assert (deleted.rows_deleted, deleted.bad_rows_deleted) == (5, 1)
    assert {r["_stored_item_id"] for r in await rows(db, warehouse, "people")} == {2}
    again = await ingest(warehouse, csv_file(tmp_path, good_lines(1, 5), name="a.csv"), stored_item_id=1)
    assert again.already_loaded
    assert len(await rows(db, warehouse, "people")) == 5
    redo = await ingest(
        warehouse, csv_file(tmp_path, good_lines(1, 5), name="a.csv"), stored_item_id=1, replace=True
    )
    assert redo.rows_loaded == 5
    assert len(await rows(db, warehouse, "people")) == 10


async def test_pages_filter_order_and_refuse_unknown_columns(
    warehouse: PostgresWarehouse, tmp_path: Path
) -> None:
    await ingest(warehouse, csv_file(tmp_path, good_lines(1, 25) + "bad,,,,,\n"), stored_item_id=3)
    page = await warehouse.read_page("people", RULES, page=2, limit=10, order_by=["~score", "id"])
    assert (page.total_rows, page.total_page_count, len(page.results)) == (25, 3, 10)
    scores = [r["score"] for r in page.results]
    assert scores == sorted(scores, reverse=True)
    none = await warehouse.read_page("people", RULES, stored_item_id=99)
    assert none.total_rows == 0
    bad = await warehouse.read_page("people", RULES, is_bad_data=True, data_source_id=7)
    assert bad.total_rows == 1
    assert bad.results[0]["_row"]["id"] == "bad"
    assert bad.results[0]["_signature"]
    with pytest.raises(InvalidQuery):
        await warehouse.read_page("people", RULES, order_by=['score"; DROP TABLE people; --'])


async def test_jsonl_parquet_and_gzip_files_load_like_csv(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    jsonl = tmp_path / "rows.data"  # no telling name: detected by content
    jsonl.write_bytes(
        gzip.compress(
            b'{"id": 1, "name": "a", "score": 1.5, "active": true, "tags": ["x", "y"]}\n'
            b"not json\n"
            b'{"id": "two"}\n'
        )
    )
    report = await ingest(warehouse, jsonl, stored_item_id=1)
    assert (report.file_format, report.rows_loaded, report.rows_quarantined) == ("jsonl", 1, 2)
    assert report.bad_rows_by_alert_type == {"row_level_issue": 1, "integer_casting": 1}
    table = pa.table(
        {
            "id": pa.array([10, 11], pa.int32()),
            "name": ["p", None],
            "score": [3.0, 500.0],
            "born": pa.array([datetime(2024, 5, 1, tzinfo=UTC)] * 2, pa.timestamp("ms", tz="UTC")),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    parquet = tmp_path / "rows.parquet.gz"
    parquet.write_bytes(gzip.compress(buffer.getvalue()))
    report = await ingest(warehouse, parquet, stored_item_id=2)
    assert (report.file_format, report.rows_loaded, report.rows_quarantined) == ("parquet", 1, 1)
    loaded = await db.fetch(f'SELECT id, tags, born FROM "{warehouse.schema}".people ORDER BY id')
    assert [(r["id"], r["tags"]) for r in loaded] == [(1, ["x", "y"]), (10, None)]
    assert loaded[1]["born"] == datetime(2024, 5, 1, tzinfo=UTC)


async def test_loaded_rows_carry_their_signature_when_asked(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await ingest(warehouse, csv_file(tmp_path, good_lines(1, 2), name="a.csv"), stored_item_id=1)
    await ingest(
        warehouse, csv_file(tmp_path, good_lines(1, 2), name="b.csv"), stored_item_id=2, sign_loaded_rows=True
    )
    loaded = await db.fetch(
        f'SELECT _stored_item_id, _signature FROM "{warehouse.schema}".people ORDER BY _id'
    )
    first_line: dict[str, str | None] = dict(
        zip(HEADER.strip().split(","), good_lines(1, 1).strip().split(","), strict=True)
    )
    assert [r["_signature"] for r in loaded] == [
        None,
        None,
        line_signature(first_line),
        loaded[3]["_signature"],
    ]
    assert loaded[3]["_signature"] not in (None, loaded[2]["_signature"])


async def test_datetimes_keep_their_instant_whatever_the_database_time_zone(
    warehouse_dsn: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'")
    try:
        w = await PostgresWarehouse.open(warehouse_dsn, f"wh_{uuid.uuid4().hex[:8]}")
        try:
            await ingest(
                w, csv_file(tmp_path, "1,a,1,yes,2024-07-01T23:30:00+02:00,\n2,b,1,no,2024-07-01,\n")
            )
            born = await db.fetch(f'SELECT born FROM "{w.schema}".people ORDER BY id')
        finally:
            await w.close()
    finally:
        await db.execute(f'ALTER DATABASE "{name}" RESET timezone')
    assert [r["born"] for r in born] == [
        datetime(2024, 7, 1, 21, 30, tzinfo=UTC),
        datetime(2024, 7, 1, tzinfo=UTC),
    ]
