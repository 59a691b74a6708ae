"""Ingest one file into its dataset's table: parse, validate, load the good rows, quarantine the bad, once.

The CPU work of a batch (parse, signatures, checks, COPY encoding) runs on a thread of the file's own while the
event loop COPYs the previous batch, so parsing and loading overlap. Memory is bounded whatever the file's size:
at most two batches are in memory at a time, the reader holds a few blocks of the file (CSV: two 4 MiB blocks
ahead), and the bad rows, counts and digest are streamed or folded batch by batch, never kept for the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter as Tally
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
from prometheus_client import Counter, Histogram

from headwater.common.logging import get_logger
from headwater.ingestion.arrow import Array, RecordBatch, pa, pc
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.domain.records import EncodedRows, LoadSummary, QuarantineRecord, RawBatch
from headwater.ingestion.domain.signatures import line_signature, line_signatures
from headwater.ingestion.domain.validation import AlertType, FieldRule, check_batch
from headwater.ingestion.service_layer.ports import FileReader, OpenFile, Warehouse

log = get_logger(__name__)

ROWS = Counter("headwater_ingestion_rows_total", "Rows of ingested files, by outcome", ["outcome"])
FILES = Counter("headwater_ingestion_files_total", "Files ingested, by outcome", ["outcome"])
SECONDS = Histogram(
    "headwater_ingestion_file_seconds",
    "Time to ingest one file",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
HIDDEN = ("_stored_item_id", "_data_source_id", "_line_number", "_signature")
DEFAULT_BATCH_ROWS = 100_000


class IngestReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one ingest did; `already_loaded` when the file had been loaded before (nothing was written now,
    and the counts are those of the earlier load)."""

    stored_item_id: int
    table: str
    file_format: str | None
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_ignored: int
    bad_rows_by_alert_type: dict[str, int]
    already_loaded: bool = False
    seconds: float = 0.0
    # Where the time went: parsing, checking and encoding batches (worker thread), and COPY into Postgres;
    # the two overlap, so they may add up to more than `seconds`.
    prepare_seconds: float = 0.0
    copy_seconds: float = 0.0


class _Prepared(msgspec.Struct):
    rows_read: int
    good: EncodedRows | None
    rows_loaded: int
    rows_ignored: int
    bad: list[QuarantineRecord]


def _storable(text: str | None) -> str | None:
    # Postgres text and jsonb cannot hold NUL; the quarantine keeps the rest of the value.
    return None if text is None else text.replace("\x00", "\ufffd")


def check_columns(batch: RecordBatch, rules: Sequence[FieldRule], *, header_fixed: bool) -> None:
    """Refuses a file whose columns are not the dataset's fields: a column no field names, or (for files with
    a header) a required field without a column."""
    known = {rule.field_name for rule in rules}
    names = batch.schema.names
    unexpected = [name for name in names if name not in known]
    if unexpected:
        raise UnreadableFile(
            f"the file has columns that are not fields of the dataset: {unexpected}; add them as fields or drop"
            " them with ignore_column_names_override",
            alert_type=AlertType.UNEXPECTED_FIELD_NAME,
        )
    if header_fixed:
        missing = [
            r.field_name for r in rules if r.is_required and r.to_include and r.field_name not in names
        ]
        if missing:
            raise UnreadableFile(
                f"the file has no column for the required field(s) {missing}",
                alert_type=AlertType.MISSING_REQUIRED_FIELD,
            )


def prepare_batch(
    raw: RawBatch,
    *,
    rules: Sequence[FieldRule],
    settings: ParseSettings,
    encode: Callable[[RecordBatch], EncodedRows],
    stored_item_id: int,
    data_source_id: int | None,
    ignored_signatures: Array,
    header_fixed: bool,
    sign_loaded_rows: bool,
) -> _Prepared:
    """One batch's CPU work: signatures, ignored lines dropped, checks, the good rows `encode`d for the load."""
    rows = raw.rows
    bad: list[QuarantineRecord] = []
    for rejected in raw.rejected:
        signature = line_signature({"_raw_line": rejected.text})
        if (
            len(ignored_signatures)
            and pc.is_in(pa.array([signature]), value_set=ignored_signatures)[0].as_py()
        ):
            continue
        bad.append(
            QuarantineRecord(
                stored_item_id,
                data_source_id,
                rejected.line_number,
                signature,
                None,
                None,
                rejected.reason,
                AlertType.ROW_LEVEL_ISSUE.value,
                msgspec.json.encode({"_raw_line": _storable(rejected.text)}).decode(),
            )
        )
    ignored_rejected = len(raw.rejected) - len(bad)
    if rows.num_rows == 0:
        return _Prepared(len(raw.rejected), None, 0, ignored_rejected, bad)
    check_columns(rows, rules, header_fixed=header_fixed)
    line_numbers = raw.line_numbers
    ignored = 0
    # Every row's signature is needed only to drop ignored lines or when loaded rows carry theirs; else only
    # the bad rows' (hashing is the one per-row Python step).
    signatures = line_signatures(rows) if len(ignored_signatures) or sign_loaded_rows else None
    if signatures is not None and len(ignored_signatures):
        keep = pc.invert(pc.is_in(signatures, value_set=ignored_signatures))
        ignored = rows.num_rows - pc.sum(pc.cast(keep, pa.int64())).as_py()
        if ignored:
            rows, signatures, line_numbers = (
                rows.filter(keep),
                signatures.filter(keep),
                line_numbers.filter(keep),
            )
    checked = check_batch(rows, rules, settings)
    good = checked.good
    n = good.num_rows
    hidden = [
        pa.repeat(pa.scalar(stored_item_id, pa.int64()), n),
        pa.repeat(pa.scalar(data_source_id, pa.int64()), n),
        line_numbers.take(checked.good_positions),
        signatures.take(checked.good_positions) if signatures is not None else pa.nulls(n, pa.string()),
    ]
    with_hidden = pa.RecordBatch.from_arrays([*good.columns, *hidden], names=[*good.schema.names, *HIDDEN])
    if checked.bad:
        positions = pa.array([b.position for b in checked.bad], pa.int64())
        raw_rows = rows.take(positions).to_pylist()
        bad_lines = line_numbers.take(positions).to_pylist()
        bad_signatures = (
            signatures.take(positions) if signatures is not None else line_signatures(rows.take(positions))
        ).to_pylist()
        for i, row in enumerate(checked.bad):
            line, signature = bad_lines[i], bad_signatures[i]
            assert line is not None
            assert signature is not None
            raw_row = {k: _storable(v) if isinstance(v, str) else v for k, v in raw_rows[i].items()}
            bad.append(
                QuarantineRecord(
                    stored_item_id,
                    data_source_id,
                    line,
                    signature,
                    row.field_name,
                    _storable(row.field_value),
                    _storable(row.msg) or "",
                    row.alert_type.value,
                    msgspec.json.encode(raw_row).decode(),
                )
            )
    return _Prepared(
        raw.rows.num_rows + len(raw.rejected),
        encode(with_hidden) if n else None,
        n,
        ignored + ignored_rejected,
        bad,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def ingest_file(
    path: Path,
    *,
    settings: ParseSettings,
    rules: Sequence[FieldRule],
    warehouse: Warehouse,
    open_file: OpenFile,
    table: str,
    stored_item_id: int,
    data_source_id: int | None = None,
    ignored_signatures: Collection[str] = (),
    file_format: FileFormat | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    replace: bool = False,
    sign_loaded_rows: bool = False,
) -> IngestReport:
    """Loads the good rows of `path` into `table` and quarantines the bad ones, exactly once per stored item.

    A second call for a loaded stored item writes nothing and reports the first load (`already_loaded`), unless
    `replace` (003's reprocess_file). Rows whose line signature is in `ignored_signatures` are dropped (counted
    as ignored). Bad rows always carry their line signature; loaded rows carry theirs in `_signature` only
    with `sign_loaded_rows` (it costs one hash per row). Raises `UnreadableFile` (nothing loaded) when the file as a whole cannot be ingested."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    names = [rule.field_name for rule in rules]
    if len(set(names)) != len(names):
        raise ValueError(f"the dataset's fields repeat a name: {names}")
    started = time.perf_counter()
    await warehouse.ensure_table(table, rules)
    ignored = pa.array(sorted(set(ignored_signatures)), pa.string())
    with_log = log.bind(table=table, stored_item_id=stored_item_id, data_source_id=data_source_id)
    try:
        async with warehouse.loading(table, stored_item_id, replace=replace) as load:
            if load.previous is not None:
                FILES.labels("already_loaded").inc()
                with_log.info("ingestion.already_loaded")
                p = load.previous
                return IngestReport(
                    stored_item_id=stored_item_id,
                    table=table,
                    file_format=None,
                    sha256=p.sha256,
                    rows_read=p.rows_loaded + p.rows_quarantined + p.rows_ignored,
                    rows_loaded=p.rows_loaded,
                    rows_quarantined=p.rows_quarantined,
                    rows_ignored=p.rows_ignored,
                    bad_rows_by_alert_type={},
                    already_loaded=True,
                    seconds=time.perf_counter() - started,
                )
            digest = asyncio.create_task(asyncio.to_thread(_sha256, path))
            reader: FileReader = await asyncio.to_thread(open_file, path, settings, file_format)
            batches: Iterator[RawBatch] = reader.batches(batch_rows)
            header_fixed = reader.file_format is not FileFormat.JSONL
            column_types = load.column_types

            def encode(batch: RecordBatch) -> EncodedRows:
                return warehouse.encode_rows(batch, column_types)

            prepare_seconds = 0.0

            def step() -> _Prepared | None:
                nonlocal prepare_seconds
                began = time.perf_counter()
                try:
                    return _prepare_next()
                finally:
                    prepare_seconds += time.perf_counter() - began

            def _prepare_next() -> _Prepared | None:
                raw = next(batches, None)
                if raw is None:
                    return None
                return prepare_batch(
                    raw,
                    rules=rules,
                    settings=settings,
                    encode=encode,
                    stored_item_id=stored_item_id,
                    data_source_id=data_source_id,
                    ignored_signatures=ignored,
                    header_fixed=header_fixed,
                    sign_loaded_rows=sign_loaded_rows,
                )

            read = loaded = ignored_count = 0
            copy_seconds = 0.0
            by_alert: Tally[str] = Tally()
            # One thread of its own prepares the batches in turn (a pool's threads, taking turns, would each
            # keep freed memory in their allocator's arenas).
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prepare")
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(worker, step)
            try:
                while (prepared := await pending) is not None:
                    pending = loop.run_in_executor(worker, step)
                    began = time.perf_counter()
                    if prepared.good is not None:
                        await load.copy_rows(prepared.good)
                    await load.copy_bad_rows(prepared.bad)
                    copy_seconds += time.perf_counter() - began
                    read += prepared.rows_read
                    loaded += prepared.rows_loaded
                    ignored_count += prepared.rows_ignored
                    by_alert.update(record.alert_type for record in prepared.bad)
            finally:
                if not pending.done():
                    # The thread cannot be stopped; let it finish its batch so the file is closed cleanly.
                    await asyncio.shield(asyncio.wait([pending]))
                worker.shutdown(wait=False)
            sha256 = await digest
            quarantined = sum(by_alert.values())
            await load.finish(
                LoadSummary(
                    data_source_id=data_source_id,
                    rows_loaded=loaded,
                    rows_quarantined=quarantined,
                    rows_ignored=ignored_count,
                    sha256=sha256,
                )
            )
    except UnreadableFile as e:
        FILES.labels("unreadable").inc()
        with_log.warning("ingestion.unreadable_file", reason=e.reason, alert_type=e.alert_type)
        raise
    seconds = time.perf_counter() - started
    ROWS.labels("loaded").inc(loaded)
    ROWS.labels("quarantined").inc(quarantined)
    ROWS.labels("ignored").inc(ignored_count)
    FILES.labels("loaded").inc()
    SECONDS.observe(seconds)
    with_log.info(
        "ingestion.file_loaded", rows_loaded=loaded, rows_quarantined=quarantined, rows_ignored=ignored_count
    )
    return IngestReport(
        stored_item_id=stored_item_id,
        table=table,
        file_format=reader.file_format.value,
        sha256=sha256,
        rows_read=read,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        rows_ignored=ignored_count,
        bad_rows_by_alert_type=dict(by_alert),
        seconds=seconds,
        prepare_seconds=prepare_seconds,
        copy_seconds=copy_seconds,
    )
