"""Bad input through the whole engine: a clear `UnreadableFile` (and nothing loaded) or bad rows, never a crash."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.validation import FieldRule, FieldType
from headwater.ingestion.service_layer.ingest import IngestReport, ingest_file

pytestmark = pytest.mark.integration

RULES = [
    FieldRule(field_name="id", json_schema_field_type=FieldType.INTEGER, is_required=True),
    FieldRule(field_name="city"),
    FieldRule(field_name="note"),
]


async def ingest(w: PostgresWarehouse, path: Path, settings: ParseSettings | None = None) -> IngestReport:
    return await ingest_file(
        path,
        settings=settings or ParseSettings(),
        rules=RULES,
        warehouse=w,
        open_file=open_file,
        table="places",
        stored_item_id=1,
    )


async def count(db: asyncpg.Connection, w: PostgresWarehouse) -> int:
    return await db.fetchval(f'SELECT count(*) FROM "{w.schema}".places')


async def refused(
    w: PostgresWarehouse, db: asyncpg.Connection, path: Path, **settings: object
) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        await ingest(w, path, ParseSettings(**settings))  # type: ignore[arg-type]
    assert await count(db, w) == 0
    return caught.value


async def test_an_empty_file_is_refused(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in (await refused(warehouse, db, path)).reason
    path.write_bytes(b"\xef\xbb\xbf\n\n")
    assert "empty" in (await refused(warehouse, db, path)).reason


async def test_a_header_only_file_loads_zero_rows(warehouse: PostgresWarehouse, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("id,city,note\n")
    report = await ingest(warehouse, path)
    assert (report.rows_read, report.rows_loaded, report.already_loaded) == (0, 0, False)


async def test_ragged_rows_are_quarantined_or_refuse_the_file_per_the_settings(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,city,note\n1,Oslo,a\n2,Rome\n3,Lima,b,extra\n4,Nuuk,c\n")
    error = await refused(warehouse, db, path, quarantine_row_if_row_level_issue_override=False)
    assert "line 3" in error.reason
    assert error.alert_type == "row_level_issue"
    report = await ingest(warehouse, path)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    bad = await db.fetch(
        f'SELECT _line_number, _row, _msg FROM "{warehouse.schema}".places__quarantine ORDER BY 1'
    )
    assert [r["_line_number"] for r in bad] == [3, 4]
    assert "2,Rome" in bad[0]["_row"]
    assert "2 cells" in bad[0]["_msg"]
    lines = await db.fetch(f'SELECT id, _line_number FROM "{warehouse.schema}".places ORDER BY id')
    assert [(r["id"], r["_line_number"]) for r in lines] == [(1, 2), (4, 5)]


async def test_a_bom_is_stripped_and_latin_1_is_read_when_the_settings_say_so(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,city,note\n1,São Paulo,été\n".encode("latin-1"))
    error = await refused(warehouse, db, latin)
    assert "utf-8" in error.reason
    assert "latin-1" in error.reason
    await ingest(warehouse, latin, ParseSettings(encoding_probably="latin-1"))
    assert await db.fetchval(f'SELECT city FROM "{warehouse.schema}".places') == "São Paulo"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfid,city,note\n2,Bergen,x\n")
    report = await ingest_file(
        bom,
        settings=ParseSettings(),
        rules=RULES,
        warehouse=warehouse,
        open_file=open_file,
        table="places",
        stored_item_id=2,
    )
    assert report.rows_loaded == 1


async def test_invalid_utf_8_deep_in_a_file_is_refused(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"id,city,note\n" + b"1,a,b\n" * 10 + b"2,\xe9t\xe9,c\n")
    error = await refused(warehouse, db, path, chunk_size_to_read_for_header=1024)
    assert "encoding_probably" in error.reason


async def test_a_one_megabyte_field_loads(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    big = "x" * (1 << 20)
    path.write_text(f'id,city,note\n1,a,"{big}"\n2,b,c\n')
    report = await ingest(warehouse, path)
    assert report.rows_loaded == 2
    assert await db.fetchval(f'SELECT length(note) FROM "{warehouse.schema}".places WHERE id = 1') == 1 << 20


async def test_duplicate_headers_are_refused_unless_one_is_ignored(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("id,city,city,note\n1,a,b,c\n")
    error = await refused(warehouse, db, path)
    assert "'city' twice" in error.reason
    report = await ingest(warehouse, path, ParseSettings(ignore_column_ids=("2",)))
    assert report.rows_loaded == 1


async def test_a_truncated_gzip_is_refused(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    packed = gzip.compress(("id,city,note\n" + "".join(f"{i},c{i},n{i}\n" for i in range(200_000))).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    error = await refused(warehouse, db, path)
    assert "gzip" in error.reason


async def test_a_parquet_file_whose_columns_are_not_the_fields_is_refused(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "other.parquet"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1], "country": ["NO"]}), buffer)
    path.write_bytes(buffer.getvalue())
    error = await refused(warehouse, db, path)
    assert error.alert_type == "unexpected_field_name"
    assert "country" in error.reason
    pq.write_table(pa.table({"city": ["Oslo"]}), buffer := io.BytesIO())
    path.write_bytes(buffer.getvalue())
    error = await refused(warehouse, db, path)
    assert error.alert_type == "missing_required_field"
    assert "id" in error.reason
    path.write_bytes(b"PAR1 this is not parquet at all")
    assert "Parquet" in (await refused(warehouse, db, path)).reason


async def test_a_missing_required_header_is_refused_and_the_header_is_found_by_its_names(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "nohead.csv"
    path.write_text("city,note\nOslo,a\n")
    error = await refused(warehouse, db, path)
    assert error.alert_type == "missing_required_field"
    preamble = tmp_path / "preamble.csv"
    preamble.write_text("Report of 2024\nexported by someone\nid,city,note\n1,Oslo,a\n")
    error = await refused(warehouse, db, preamble, identify_header_by_column_names=("id", "zip"))
    assert "identify_header_by_column_names" in error.reason
    report = await ingest(warehouse, preamble, ParseSettings(identify_header_by_column_names=("id", "city")))
    assert report.rows_loaded == 1
    assert await db.fetchval(f'SELECT _line_number FROM "{warehouse.schema}".places') == 4


async def test_a_nul_character_quarantines_the_row_instead_of_failing_the_copy(
    warehouse: PostgresWarehouse, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"id,city,note\n1,a\x00b,c\n2,d,e\n")
    report = await ingest(warehouse, path)
    assert (report.rows_loaded, report.bad_rows_by_alert_type) == (1, {"unstorable_character": 1})
