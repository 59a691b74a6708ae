"""`python -m bench.ingestion`: the ingestion engine on a generated CSV, against a bare asyncpg COPY baseline.

Generates an N-row, 10-column CSV with 1 % bad rows, then measures, in one run on one Postgres:
- `ingest_file` end to end (parse, validate, load, quarantine, one commit), first: rows/s and the process's
  peak RSS while it runs, then that the rows are queryable (003's Get Data),
- the stages without a database, one thread (parse, checks, binary COPY encoding, signatures of every row),
- `copy_records_to_table` of N ready records into a table of the same types: the baseline.
`--file-size 2GB` sizes the file in bytes instead of rows.
Postgres is `--dsn` (a database the bench may create schemas in) or, by default, an embedded one of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from headwater.devstack.postgres import EmbeddedPostgres
from headwater.devstack.testing import free_port
from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.arrow import use_jemalloc
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.signatures import line_signatures
from headwater.ingestion.domain.validation import FieldRule, FieldType, check_batch
from headwater.ingestion.service_layer.ingest import ingest_file

CITIES = ("Oslo", "Lima", "Rome", "Nuuk", "Kyiv", "Baku", "Riga", "Doha", "Bern", "Apia")
RULES = [
    FieldRule(field_name="id", json_schema_field_type=FieldType.INTEGER, is_required=True),
    FieldRule(field_name="name", is_required=True),
    FieldRule(field_name="email", json_schema_field_type=FieldType.EMAIL),
    FieldRule(field_name="score", json_schema_field_type=FieldType.NUMBER, minimum=0, maximum=100),
    FieldRule(field_name="active", json_schema_field_type=FieldType.BOOLEAN),
    FieldRule(field_name="created_at", json_schema_format="date-time"),
    FieldRule(field_name="city", limit_to_values=CITIES),
    FieldRule(field_name="quantity", json_schema_field_type=FieldType.INTEGER, minimum=0),
    FieldRule(field_name="price", json_schema_field_type=FieldType.NUMBER),
    FieldRule(field_name="note"),
]
BASELINE_DDL = (
    "id bigint, name text, email text, score double precision, active boolean, created_at timestamptz,"
    " city text, quantity bigint, price double precision, note text"
)
BAD_CELLS = (
    (0, "x1"),  # id: integer_casting
    (3, "250"),  # score: maximum_violation
    (4, "perhaps"),  # active: boolean_casting
    (5, "31/02/2024"),  # created_at: datetime_casting
    (6, "Paris"),  # city: not_in_limit_to_values
    (7, "-3"),  # quantity: minimum_violation
)


def generate_csv(path: Path, rows: int, bad_every: int = 100) -> None:
    """`rows` rows of 10 columns; every `bad_every`-th row has one bad cell (a different rule each time)."""
    rng = random.Random(42)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(rule.field_name for rule in RULES) + "\n")
        lines: list[str] = []
        for i in range(1, rows + 1):
            cells = [
                str(i),
                f"name {i}",
                f"user{i}@example.com",
                f"{rng.random() * 100:.2f}",
                "true" if i % 2 else "false",
                (start + timedelta(seconds=i * 37)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                CITIES[i % len(CITIES)],
                str(i % 1000),
                f"{rng.random() * 1000:.3f}",
                '"a note, with a comma"' if i % 7 == 0 else "plain note",
            ]
            if i % bad_every == 0:
                column, value = BAD_CELLS[(i // bad_every) % len(BAD_CELLS)]
                cells[column] = value
            lines.append(",".join(cells))
            if len(lines) == 50_000:
                f.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            f.write("\n".join(lines) + "\n")


class RssSampler:
    """Peak resident set size of this process while the block runs (sampled every 20 ms from /proc)."""

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.current())
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self.peak_bytes = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class PostgresCpu:
    """CPU seconds the processes of one local Postgres cluster have used (its postmaster and the children it
    forked), read from /proc: what the load costs the server, whatever else the machine runs."""

    def __init__(self, data_dir: Path) -> None:
        self._postmaster = int((data_dir / "postmaster.pid").read_text().splitlines()[0])

    def seconds(self) -> float:
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(stat.parent.name) == self._postmaster or int(fields[1]) == self._postmaster:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stage_timings(path: Path, batch_rows: int, column_types: dict[str, str]) -> dict[str, float]:
    """Seconds of each CPU stage over the whole file, cumulated (no database, one thread). Signatures are
    computed by `ingest_file` for every row only when a data source ignores some (or loaded rows are signed);
    else only for the bad rows."""
    settings = ParseSettings()
    timings = {"parse": 0.0, "checks": 0.0, "encode_binary": 0.0, "signatures_all_rows": 0.0}
    reader = open_file(path, settings)
    batches = reader.batches(batch_rows)
    while True:
        t0 = time.perf_counter()
        raw = next(batches, None)
        t1 = time.perf_counter()
        timings["parse"] += t1 - t0
        if raw is None:
            break
        checked = check_batch(raw.rows, RULES, settings)
        t2 = time.perf_counter()
        PostgresWarehouse.encode_rows(checked.good, column_types)
        t3 = time.perf_counter()
        line_signatures(raw.rows)
        t4 = time.perf_counter()
        timings["checks"] += t2 - t1
        timings["encode_binary"] += t3 - t2
        timings["signatures_all_rows"] += t4 - t3
    return timings


def ready_records(first: int, rows: int) -> list[tuple[Any, ...]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        (
            i,
            f"name {i}",
            f"user{i}@example.com",
            (i % 10000) / 100,
            bool(i % 2),
            start + timedelta(seconds=i * 37),
            CITIES[i % len(CITIES)],
            i % 1000,
            i / 1000,
            "plain note",
        )
        for i in range(first, first + rows)
    ]


async def baseline_copy(dsn: str, schema: str, rows: int, batch_rows: int) -> float:
    """Seconds `copy_records_to_table` takes for `rows` ready records (made batch by batch, untimed) in one
    transaction, into a table of the same 10 types without index: the floor of any load."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE TABLE "{schema}".baseline ({BASELINE_DDL})')
        seconds = 0.0
        async with conn.transaction():
            for first in range(1, rows + 1, batch_rows):
                records = ready_records(first, min(batch_rows, rows + 1 - first))
                t0 = time.perf_counter()
                await conn.copy_records_to_table("baseline", schema_name=schema, records=records)
                seconds += time.perf_counter() - t0
        await conn.execute(f'DROP TABLE "{schema}".baseline')
    finally:
        await conn.close()
    return seconds


async def column_types_of(dsn: str, schema: str, table: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        records = await conn.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            f'"{schema}"."{table}"',
        )
    finally:
        await conn.close()
    return {str(r["attname"]): str(r["type"]) for r in records}


async def measure(
    dsn: str,
    rows: int,
    batch_rows: int,
    folder: Path,
    *,
    stages: bool = True,
    baseline: bool = True,
    postgres_cpu: PostgresCpu | None = None,
) -> dict[str, Any]:
    path = folder / "bench.csv"
    t0 = time.perf_counter()
    generate_csv(path, rows)
    generated = time.perf_counter() - t0

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    warehouse = await PostgresWarehouse.open(dsn, schema)
    try:
        await warehouse.ensure_table("events", RULES)  # table creation is not what is measured
        rss_before = RssSampler.current()
        cpu_before = process_cpu_seconds()
        server_before = postgres_cpu.seconds() if postgres_cpu else 0.0
        with RssSampler() as rss:  # first, so nothing measured before has grown the process
            t0 = time.perf_counter()
            report = await ingest_file(
                path,
                settings=ParseSettings(),
                rules=RULES,
                warehouse=warehouse,
                open_file=open_file,
                table="events",
                stored_item_id=1,
                data_source_id=1,
                batch_rows=batch_rows,
            )
            ingest_seconds = time.perf_counter() - t0
        cpu_seconds = process_cpu_seconds() - cpu_before
        server_seconds = postgres_cpu.seconds() - server_before if postgres_cpu else None
        queryable = await warehouse.read_page("events", RULES, stored_item_id=1, limit=1)
    finally:
        await warehouse.close()
    column_types = await column_types_of(dsn, schema, "events")
    stage_seconds = stage_timings(path, batch_rows, column_types) if stages else {}
    copy_seconds = await baseline_copy(dsn, schema, rows, batch_rows) if baseline else None
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()

    return {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "batch_rows": batch_rows,
        "generate_seconds": round(generated, 2),
        "stages_seconds_single_thread": {k: round(v, 2) for k, v in stage_seconds.items()},
        "ingest": {
            "seconds": round(ingest_seconds, 2),
            "rows_per_second": round(rows / ingest_seconds),
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "rows_queryable": queryable.total_rows,
            "bad_rows_by_alert_type": report.bad_rows_by_alert_type,
            "rss_before_mb": round(rss_before / 1e6),
            "peak_rss_mb": round(rss.peak_bytes / 1e6),
            "prepare_seconds_worker_thread": round(report.prepare_seconds, 2),
            "copy_seconds_event_loop": round(report.copy_seconds, 2),
            "cpu_seconds_this_process": round(cpu_seconds, 2),
            "cpu_seconds_postgres": None if server_seconds is None else round(server_seconds, 2),
        },
        "baseline_copy_records": None
        if copy_seconds is None
        else {"seconds": round(copy_seconds, 2), "rows_per_second": round(rows / copy_seconds)},
        "ingest_over_baseline_rate": None
        if copy_seconds is None
        else round(copy_seconds / ingest_seconds, 2),
    }


def render(result: dict[str, Any]) -> str:
    """The result as a table a person reads."""
    ingest = result["ingest"]
    lines = [
        f"ingestion engine: {result['rows']:,} rows x 10 columns, 1 % bad, CSV of {result['file_mb']:,} MB,"
        f" batches of {result['batch_rows']:,} rows (generated in {result['generate_seconds']} s)",
        "",
        f"{'measure':<44}{'seconds':>10}{'rows/s':>12}",
    ]
    rows = result["rows"]
    for stage, seconds in result["stages_seconds_single_thread"].items():
        rate = f"{rows / seconds:,.0f}" if seconds else "-"
        lines.append(f"{'  stage, one thread: ' + stage:<44}{seconds:>10.2f}{rate:>12}")
    lines.append(
        f"{'ingest_file (parse+validate+load, commit)':<44}{ingest['seconds']:>10.2f}"
        f"{ingest['rows_per_second']:>12,}"
    )
    lines.append(
        f"{'  of which preparing batches (worker thread)':<44}{ingest['prepare_seconds_worker_thread']:>10.2f}"
    )
    lines.append(
        f"{'  of which COPY (event loop, overlapping)':<44}{ingest['copy_seconds_event_loop']:>10.2f}"
    )
    lines.append(
        f"{'  CPU of this process (all its threads)':<44}{ingest['cpu_seconds_this_process']:>10.2f}"
    )
    if ingest["cpu_seconds_postgres"] is not None:
        lines.append(f"{'  CPU of Postgres (all its processes)':<44}{ingest['cpu_seconds_postgres']:>10.2f}")
    baseline = result["baseline_copy_records"]
    if baseline is not None:
        lines.append(
            f"{'bare asyncpg copy_records_to_table':<44}{baseline['seconds']:>10.2f}"
            f"{baseline['rows_per_second']:>12,}"
        )
        lines.append(f"{'ingest_file rate / bare COPY rate':<44}{result['ingest_over_baseline_rate']:>10.2f}")
    lines += [
        "",
        f"rows loaded {ingest['rows_loaded']:,}, quarantined {ingest['rows_quarantined']:,},"
        f" queryable after the commit {ingest['rows_queryable']:,}",
        f"peak RSS during ingest_file {ingest['peak_rss_mb']:,} MB (process before it: {ingest['rss_before_mb']:,} MB)",
    ]
    return "\n".join(lines)


def _size(text: str) -> int:
    """Bytes of a size written `2GB`, `500MB`, `1.5G` or in bytes."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    cleaned = text.strip().upper().removesuffix("B")
    try:
        if cleaned and cleaned[-1] in units:
            return int(float(cleaned[:-1]) * units[cleaned[-1]])
        return int(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size (e.g. 2GB, 500MB): {text!r}") from None


BYTES_PER_ROW = 104  # of the generated CSV, about (1M rows: 103.5 MB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingestion",
        description="The ingestion engine on a generated CSV, against a bare asyncpg COPY baseline.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated file")
    size.add_argument(
        "--file-size",
        type=_size,
        help=f"size of the generated file instead (2GB: ~{2 * 10**9 // BYTES_PER_ROW:,} rows)",
    )
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--no-stages", action="store_true", help="skip the single-thread stage timings")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare COPY baseline")
    parser.add_argument(
        "--dsn", help="Postgres to load into (default: an embedded Postgres of the bench's own)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    use_jemalloc()  # as the service's processes do (`bootstrap`)
    rows = args.file_size // BYTES_PER_ROW if args.file_size else args.rows
    if rows < 1:
        parser.error("the file must hold at least one row")
    folder = Path(tempfile.mkdtemp(prefix="headwater-bench-ingestion-"))
    postgres: EmbeddedPostgres | None = None
    try:
        dsn = args.dsn
        if dsn is None:
            postgres = EmbeddedPostgres(folder / "pg", free_port(), log_file=folder / "pg.log")
            postgres.start()
            dsn = postgres.admin_dsn
        result = asyncio.run(
            measure(
                dsn,
                rows,
                args.batch_rows,
                folder,
                stages=not args.no_stages,
                baseline=not args.no_baseline,
                postgres_cpu=PostgresCpu(postgres.data_dir) if postgres is not None else None,
            )
        )
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
