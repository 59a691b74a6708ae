"""Measurement 5: the freshness and timeliness checks over 100,000 pipelines, in quality-alerting's database.

The bench writes quality-alerting's own copies directly through SQL (with the service's database role, as
`make up` provisions it): `pipelines` rows of `pipeline_settings` and five executions each in
`execution_metric`, one started within the timeliness lookback and four days old. Each pipeline falls in one
of 20 buckets by its index, so the checks meet every case in known proportions:

| buckets | share | freshness                                   | execution within the lookback         |
|---------|-------|---------------------------------------------|---------------------------------------|
| 0       | 5 %   | muted (both checks)                         | running                               |
| 1       | 5 %   | no settings                                 | succeeded                             |
| 2       | 5 %   | inactive                                    | succeeded                             |
| 3       | 5 %   | no DML yet                                  | succeeded                             |
| 4-7     | 20 %  | stale, already logged                       | late (running or succeeded), logged   |
| 8       | 5 %   | fresh                                       | failed                                |
| 9-13    | 25 %  | fresh                                       | running, on time                      |
| 14-19   | 30 %  | fresh                                       | succeeded, on time                    |

Before each freshness run, `new_per_run` fresh pipelines get an old DML (stale anew); before each timeliness run,
`new_per_run` new executions start late: what a scheduled check meets in a steady state. A run is the use case
exactly as the `checks.requested` subscriber calls it (`check_freshness` / `check_timeliness` at the current
time, a 60-minute lookback): one transaction that finds, logs and alerts the new violations and commits, timed
from the bench process. Each check runs once unmeasured, then `runs` times; p50/p99 are of those runs.

The bench rows use ids far above any real ones and are replaced at every bench run. The alerts the runs raise
(`new_per_run` per run of each check) are real alerts of the running system and stay.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.settings import BenchSettings
from bench.stats import LatencySummary
from headwater.common.db import create_engine
from headwater.common.logging import configure_logging
from headwater.devstack.stack import Stack, StackConfig
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.adapters.db.checks import due_at
from headwater.quality_alerting.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.quality_alerting.service_layer.checks import CheckCounts, check_freshness, check_timeliness

DSN_ENV = "HEADWATER_QUALITY_ALERTING_DATABASE_URL"

# Bench ids: far above any identity a real row gets, and below 2**53 so JavaScript clients read them exactly.
PIPELINE_BASE = 8_000_000_000_000_000
TYPE_BASE = 8_000_000_000_000_000
EXECUTION_BASE = 8_500_000_000_000_000
LOOKBACK_MINUTES = 60
HISTORY_DAYS = 4  # older executions per pipeline, outside the lookback
TARGET_MS = 1000.0

# Fresh pipelines' allowed intervals by datepart: long enough that none goes stale while the bench runs.
_FRESHNESS = "ARRAY[180, 3, 1, 1, 1, 1]", "ARRAY['minute', 'hour', 'day', 'week', 'month', 'year']"


class ChecksUnavailable(Exception):
    """quality-alerting's database cannot be reached, or its schema is not there."""


@dataclass(frozen=True)
class CheckRuns:
    check: str
    latency: LatencySummary
    found: list[int]  # violations each measured run logged
    alerts_raised: list[int]
    meets_target: bool  # p99 below TARGET_MS


@dataclass(frozen=True)
class ChecksResult:
    pipelines: int
    executions: int
    executions_in_lookback: int
    lookback_minutes: int
    new_per_run: int
    runs: int
    build_seconds: float
    target_ms: float
    freshness: CheckRuns
    timeliness: CheckRuns


def database_url() -> str:
    """The quality_alerting role's DSN: `$HEADWATER_QUALITY_ALERTING_DATABASE_URL`, else the `make up` stack's."""
    if dsn := os.environ.get(DSN_ENV):
        return dsn
    config = StackConfig.from_env()
    if not (Path(config.state_dir) / "secrets" / f"{SCHEMA}.password").exists():
        raise ChecksUnavailable(f"no `make up` stack in {config.state_dir} (and ${DSN_ENV} is not set)")
    return Stack(config).service_dsn(SCHEMA)


async def remove_bench_rows(conn: AsyncConnection, n: int) -> None:
    """Delete the rows of the first `n` bench pipelines (their alerts stay)."""
    for table in ("freshness_log", "timeliness_log", "execution_metric", "pipeline_settings"):
        await conn.execute(
            text(
                f"DELETE FROM {table} WHERE pipeline_id "
                "BETWEEN CAST(:base AS bigint) AND CAST(:base AS bigint) + CAST(:n AS int) - 1"
            ),
            {"base": PIPELINE_BASE, "n": n},
        )


def _pid(i: str) -> str:
    return f"(CAST(:pipeline_base AS bigint) + {i})"


async def _build(conn: AsyncConnection, n: int, execution_base: int, now: datetime) -> int:
    """Replace the bench rows; returns the number of executions written."""
    params = {"pipeline_base": PIPELINE_BASE, "n": n, "now": now, "eb": execution_base}
    last = f"{_pid(':n')} - 1"
    await remove_bench_rows(conn, n)
    numbers, dateparts = _FRESHNESS
    await conn.execute(
        text(
            f"""
            INSERT INTO pipeline_settings (pipeline_id, name, pipeline_type_id, pipeline_type_name, active,
                freshness_number, freshness_datepart, mute_freshness_check, timeliness_number,
                timeliness_datepart, mute_timeliness_check, last_dml_at, as_of)
            SELECT {_pid("i")}, 'bench-checks-' || i, CAST(:type_base AS bigint) + i % 50,
                   'bench-checks-type-' || i % 50, b <> 2,
                   CASE WHEN b <> 1 THEN ({numbers})[1 + (i / 20) % 6] END,
                   CASE WHEN b <> 1 THEN ({dateparts})[1 + (i / 20) % 6] END,
                   b = 0,
                   CASE WHEN b = 1 THEN NULL WHEN b BETWEEN 4 AND 7 THEN 1 ELSE 2 END,
                   CASE WHEN b = 1 THEN NULL WHEN b BETWEEN 4 AND 7 THEN 'minute' ELSE 'hour' END,
                   b = 0,
                   CASE WHEN b = 3 THEN NULL
                        WHEN b BETWEEN 4 AND 7 THEN CAST(:now AS timestamptz) - interval '3 years' - i * interval '1 second'
                        ELSE CAST(:now AS timestamptz) - interval '10 minutes' - (i % 600) * interval '1 second'
                   END,
                   CAST(:now AS timestamptz)
            FROM generate_series(0, CAST(:n AS int) - 1) AS i, LATERAL (SELECT i % 20 AS b) AS bucket
            """
        ),
        {**params, "type_base": TYPE_BASE},
    )
    # The execution within the lookback (ids eb + i), then the history (ids eb + k * n + i).
    await conn.execute(
        text(
            f"""
            INSERT INTO execution_metric (execution_id, pipeline_id, start_date, end_date, hour_recorded,
                day_of_week, completed_successfully)
            SELECT CAST(:eb AS bigint) + i, {_pid("i")}, s,
                   CASE WHEN b BETWEEN 4 AND 7 AND i % 2 = 1 THEN s + interval '3 minutes'
                        WHEN b = 8 THEN s + interval '1 minute'
                        WHEN b = 0 OR b BETWEEN 4 AND 7 OR b BETWEEN 9 AND 13 THEN NULL
                        ELSE s + interval '30 seconds' END,
                   EXTRACT(HOUR FROM s AT TIME ZONE 'UTC'), EXTRACT(ISODOW FROM s AT TIME ZONE 'UTC'),
                   CASE WHEN b BETWEEN 4 AND 7 AND i % 2 = 1 THEN TRUE
                        WHEN b = 8 THEN FALSE
                        WHEN b = 0 OR b BETWEEN 4 AND 7 OR b BETWEEN 9 AND 13 THEN NULL
                        ELSE TRUE END
            FROM generate_series(0, CAST(:n AS int) - 1) AS i,
                 LATERAL (SELECT i % 20 AS b,
                          CAST(:now AS timestamptz) - (5 + i % 50) * interval '1 minute' AS s) AS x
            UNION ALL
            SELECT CAST(:eb AS bigint) + k * CAST(:n AS int) + i, {_pid("i")}, s, s + interval '2 minutes',
                   EXTRACT(HOUR FROM s AT TIME ZONE 'UTC'), EXTRACT(ISODOW FROM s AT TIME ZONE 'UTC'), TRUE
            FROM generate_series(1, {HISTORY_DAYS}) AS k, generate_series(0, CAST(:n AS int) - 1) AS i,
                 LATERAL (SELECT CAST(:now AS timestamptz) - k * interval '1 day' - (i % 600) * interval '1 second' AS s) AS x
            """
        ),
        params,
    )
    # What earlier checks found already: the stale pipelines' DML and the late executions are logged.
    await conn.execute(
        text(
            f"""
            INSERT INTO freshness_log (pipeline_id, last_dml_at, due_at, freshness_number, freshness_datepart)
            SELECT pipeline_id, last_dml_at,
                   {due_at("last_dml_at", "freshness_number", "freshness_datepart")},
                   freshness_number, freshness_datepart
            FROM pipeline_settings
            WHERE pipeline_id BETWEEN CAST(:pipeline_base AS bigint) AND {last}
              AND (pipeline_id - CAST(:pipeline_base AS bigint)) % 20 BETWEEN 4 AND 7
            """
        ),
        params,
    )
    await conn.execute(
        text(
            """
            INSERT INTO timeliness_log (pipeline_id, execution_id, status, start_date, end_date, due_at,
                timeliness_number, timeliness_datepart)
            SELECT pipeline_id, execution_id, CASE WHEN end_date IS NULL THEN 'running' ELSE 'succeeded' END,
                   start_date, end_date, start_date + interval '1 minute', 1, 'minute'
            FROM execution_metric
            WHERE execution_id BETWEEN CAST(:eb AS bigint) AND CAST(:eb AS bigint) + CAST(:n AS int) - 1
              AND (pipeline_id - CAST(:pipeline_base AS bigint)) % 20 BETWEEN 4 AND 7
            """
        ),
        params,
    )
    return n * (1 + HISTORY_DAYS)


def _fresh_indexes(n: int) -> list[int]:
    """Pipelines fresh at build time (buckets 8-19), in the order runs make them stale."""
    return [i for i in range(n) if i % 20 >= 8]


def _late_budget_indexes(n: int) -> list[int]:
    """Pipelines with a one-minute timeliness budget (buckets 4-7): a new run of theirs is soon late."""
    return [i for i in range(n) if 4 <= i % 20 <= 7]


async def _stale_anew(engine: AsyncEngine, run: int, per_run: int, n: int, now: datetime) -> None:
    """`per_run` fresh pipelines get a DML three years old (a distinct one per run): stale, never logged."""
    fresh = _fresh_indexes(n)
    ids = [PIPELINE_BASE + fresh[(run * per_run + j) % len(fresh)] for j in range(per_run)]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE pipeline_settings SET last_dml_at = CAST(:dml AS timestamptz) "
                "WHERE pipeline_id = ANY(CAST(:ids AS bigint[]))"
            ),
            {"dml": now - timedelta(days=3 * 365, seconds=run), "ids": ids},
        )


async def _late_anew(
    engine: AsyncEngine, run: int, per_run: int, n: int, execution_base: int, now: datetime
) -> None:
    """`per_run` new executions of pipelines with a one-minute budget, started 10 minutes ago: late."""
    budgets = _late_budget_indexes(n)
    pipelines = [PIPELINE_BASE + budgets[(run * per_run + j) % len(budgets)] for j in range(per_run)]
    start = now - timedelta(minutes=10)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO execution_metric (execution_id, pipeline_id, start_date, hour_recorded, day_of_week) "
                "SELECT CAST(:base AS bigint) + j, p, CAST(:start AS timestamptz), :hour, :dow "
                "FROM unnest(CAST(:pipelines AS bigint[])) WITH ORDINALITY AS t(p, j)"
            ),
            {
                "base": execution_base + run * per_run,
                "start": start,
                "hour": start.hour,
                "dow": start.isoweekday(),
                "pipelines": pipelines,
            },
        )


async def _measure(
    check: str,
    run_check: Callable[[datetime], Awaitable[CheckCounts]],
    prepare: Callable[[int], Awaitable[None]],
    runs: int,
) -> CheckRuns:
    seconds: list[float] = []
    found: list[int] = []
    raised: list[int] = []
    print(f"checks: {check}, 1 unmeasured run then {runs} ...", file=sys.stderr, flush=True)
    for run in range(runs + 1):
        await prepare(run)
        began = time.perf_counter()
        counts = await run_check(datetime.now(UTC))
        elapsed = time.perf_counter() - began
        if run == 0:
            continue  # warm-up: caches, prepared statements, the pool
        seconds.append(elapsed)
        found.append(counts.found)
        raised.append(counts.alerts_raised)
    latency = LatencySummary.of_seconds(seconds)
    return CheckRuns(
        check=check,
        latency=latency,
        found=found,
        alerts_raised=raised,
        meets_target=latency.count > 0 and latency.p99_ms < TARGET_MS,
    )


async def measure_checks(settings: BenchSettings) -> ChecksResult:
    # Quiet the use cases' per-check INFO lines (a test session has configured its own logging).
    if not structlog.is_configured():
        configure_logging("bench", level="WARNING", json=False)
    engine = create_engine(database_url(), schema=SCHEMA, pool_size=2)
    n, per_run, runs = settings.checks_pipelines, settings.checks_new_per_run, settings.checks_runs
    # Execution ids unique to this bench run: alerts (deduplicated by execution) outlive the rows replaced.
    span = n * (1 + HISTORY_DAYS) + (runs + 1) * per_run
    execution_base = EXECUTION_BASE + secrets.randbelow(1000) * span
    new_execution_base = execution_base + n * (1 + HISTORY_DAYS)
    try:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1 FROM pipeline_settings LIMIT 1"))
        except Exception as exc:
            raise ChecksUnavailable(f"cannot query quality_alerting.pipeline_settings: {exc!r}") from exc
        print(f"checks: writing {n:,} pipelines and their executions ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        async with engine.begin() as conn:
            executions = await _build(conn, n, execution_base, datetime.now(UTC))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("pipeline_settings", "execution_metric", "freshness_log", "timeliness_log"):
                await conn.execute(text(f"ANALYZE {table}"))  # as autovacuum would soon after a bulk load
        build_seconds = time.perf_counter() - began

        async def stale_anew(run: int) -> None:
            if per_run:
                await _stale_anew(engine, run, per_run, n, datetime.now(UTC))

        async def late_anew(run: int) -> None:
            if per_run:
                await _late_anew(engine, run, per_run, n, new_execution_base, datetime.now(UTC))

        freshness = await _measure(
            "freshness", lambda now: check_freshness(SqlUnitOfWork(engine), now), stale_anew, runs
        )
        timeliness = await _measure(
            "timeliness",
            lambda now: check_timeliness(SqlUnitOfWork(engine), now, LOOKBACK_MINUTES),
            late_anew,
            runs,
        )
    finally:
        await engine.dispose()
    return ChecksResult(
        pipelines=n,
        executions=executions,
        executions_in_lookback=n,
        lookback_minutes=LOOKBACK_MINUTES,
        new_per_run=per_run,
        runs=runs,
        build_seconds=build_seconds,
        target_ms=TARGET_MS,
        freshness=freshness,
        timeliness=timeliness,
    )


def render_checks(result: ChecksResult) -> str:
    def row(runs: CheckRuns) -> list[str]:
        lat = runs.latency
        found = f"{min(runs.found, default=0)}-{max(runs.found, default=0)}"
        raised = f"{min(runs.alerts_raised, default=0)}-{max(runs.alerts_raised, default=0)}"
        cells = [lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.max_ms, lat.min_ms]
        return [runs.check, str(lat.count), *(f"{v:.1f}" for v in cells), found, raised]

    headers = ["check", "runs", "p50", "p90", "p99", "max", "min", "found/run", "alerts/run"]
    rows = [row(result.freshness), row(result.timeliness)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    table = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    table.append("  ".join("-" * w for w in widths))
    table += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    verdict = ", ".join(
        f"{r.check} {'yes' if r.meets_target else 'NO'}" for r in (result.freshness, result.timeliness)
    )
    return "\n".join(
        [
            f"Freshness and timeliness checks over {result.pipelines:,} pipelines and {result.executions:,} "
            f"executions ({result.executions_in_lookback:,} within the {result.lookback_minutes}-minute lookback), "
            f"written in {result.build_seconds:.1f} s;",
            f"each run is one check transaction (find, log, alert, commit) with {result.new_per_run} new "
            f"violations; latencies in ms; target p99 < {result.target_ms:g} ms: {verdict}",
            *table,
        ]
    )
