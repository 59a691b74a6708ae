"""Bad rows checked again against today's rules (003's Reprocess Bad Rows), and files ignored (`ignore_file`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from headwater.common.logging import get_logger
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.records import EncodedRows, IgnoredFile, OfDataSource, QuarantinedRow
from headwater.ingestion.domain.validation import FieldRule, check_batch
from headwater.ingestion.service_layer.ports import Warehouse

log = get_logger(__name__)

HIDDEN = ("_stored_item_id", "_data_source_id", "_line_number", "_signature")


class ReprocessReport(msgspec.Struct, frozen=True):
    """How many bad rows were checked, moved into the table, and still fail (with their new reasons)."""

    checked: int
    moved: int
    still_bad: int


class _Plan(msgspec.Struct):
    rows: EncodedRows
    moved_ids: list[int]
    reasons: list[tuple[int, str, str | None, str, str]]


def _plan(
    rows: list[QuarantinedRow], rules: Sequence[FieldRule], settings: ParseSettings, warehouse: Warehouse
) -> _Plan:
    names = list(dict.fromkeys(name for row in rows for name in row.row))
    columns = [
        pa.array([None if (v := row.row.get(name)) is None else str(v) for row in rows], pa.string())
        for name in names
    ]
    if not names:  # rows of no cells: one all-null column keeps the row count
        names, columns = ["_"], [pa.nulls(len(rows), pa.string())]
    batch = pa.RecordBatch.from_arrays(columns, names=names)
    checked = check_batch(batch, rules, settings)
    good_rows = [rows[int(i)] for i in checked.good_positions.to_pylist()]
    hidden = [
        pa.array([r.stored_item_id for r in good_rows], pa.int64()),
        pa.array([r.data_source_id for r in good_rows], pa.int64()),
        pa.array([r.line_number for r in good_rows], pa.int64()),
        pa.array([r.signature for r in good_rows], pa.string()),
    ]
    good = pa.RecordBatch.from_arrays(
        [*checked.good.columns, *hidden], names=[*checked.good.schema.names, *HIDDEN]
    )
    reasons = [
        (rows[b.position].id, b.field_name, b.field_value, b.msg, b.alert_type.value) for b in checked.bad
    ]
    return _Plan(warehouse.encode_rows(good), [r.id for r in good_rows], reasons)


async def reprocess_bad_rows(
    warehouse: Warehouse,
    *,
    table: str,
    rules: Sequence[FieldRule],
    settings: ParseSettings,
    ids: Sequence[int] | None = None,
    source: OfDataSource | None = None,
    page_rows: int = 10_000,
) -> ReprocessReport:
    """Checks the dataset's quarantined rows (only `ids` when given, only those of `source` when given: each
    data source's rows are read with its own parse settings) against `rules` and moves the ones that
    pass into the table, keeping their stored item, data source, line number and signature; the others get
    today's reason. Each page moves in one transaction, so a crash mid-way loses or doubles nothing."""
    await warehouse.ensure_table(table, rules)
    after = checked = moved = still_bad = 0
    while True:
        async with warehouse.reprocessing(
            table, after_id=after, limit=page_rows, ids=ids, source=source
        ) as work:
            if not work.rows:
                break
            plan = await asyncio.to_thread(_plan, work.rows, rules, settings, warehouse)
            await work.move(plan.rows, plan.moved_ids)
            await work.update_reasons(plan.reasons)
            after = work.rows[-1].id
            checked += len(work.rows)
            moved += len(plan.moved_ids)
            still_bad += len(plan.reasons)
    log.info("ingestion.bad_rows_reprocessed", table=table, checked=checked, moved=moved, still_bad=still_bad)
    return ReprocessReport(checked, moved, still_bad)


async def ignore_file(warehouse: Warehouse, *, table: str, stored_item_id: int) -> IgnoredFile:
    """Removes a file's rows and bad rows; a later ingest of the same stored item loads nothing."""
    deleted = await warehouse.ignore_file(table, stored_item_id)
    log.info(
        "ingestion.file_ignored",
        table=table,
        stored_item_id=stored_item_id,
        rows_deleted=deleted.rows_deleted,
        bad_rows_deleted=deleted.bad_rows_deleted,
    )
    return deleted
