"""The bench's output: readable tables on stdout, everything in `bench/results/<timestamp>.json`."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import msgspec

from bench.anomaly import AnomalyResult
from bench.checks import ChecksResult
from bench.http_load import HttpResult, LevelResult
from bench.ingress import IngressResult
from bench.lineage import HUB_WARMUP, LineageResult, QueryCase
from bench.settings import BenchSettings

RESULTS_DIR = Path(__file__).parent / "results"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _num(value: float | None, fmt: str = ".0f") -> str:
    return "-" if value is None else format(value, fmt)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _errors(level: LevelResult) -> str:
    parts = [f"{ep} {kind}: {n}" for ep, kinds in level.errors.items() for kind, n in kinds.items()]
    return ", ".join(parts) or "0"


def _worst_second(level: LevelResult) -> int:
    """The fewest pairs completed in any whole second of the window."""
    whole = level.pairs_each_second[: max(1, int(level.measured_seconds))]
    return min(whole, default=0)


def render_http(result: HttpResult, settings: BenchSettings) -> str:
    headers = [
        "conc", "pairs/s", "worst_1s",
        "start_p50", "p90", "p99", "end_p50", "p90", "p99",
        "cpu%", "steal%", "bench%", "errors",
    ]  # fmt: skip
    rows = []
    for level in result.levels:
        start, end = level.latency["start"], level.latency["end"]
        rows.append([
            str(level.concurrency),
            f"{level.pairs_per_second:.1f}",
            str(_worst_second(level)),
            _ms(start.p50_ms), _ms(start.p90_ms), _ms(start.p99_ms),
            _ms(end.p50_ms), _ms(end.p90_ms), _ms(end.p99_ms),
            _num(level.cpu.machine_busy_percent if level.cpu else None),
            _num(level.cpu.machine_steal_percent if level.cpu else None),
            _num(level.cpu.bench_process_percent if level.cpu else None),
            _errors(level),
        ])  # fmt: skip
    title = (
        f"HTTP through the gateway {settings.gateway_url}: start+end pairs, "
        f"{settings.duration:g} s measured after {settings.warmup:g} s warm-up per level; latencies in ms;\n"
        "worst_1s = fewest pairs in any one second (a stall shows here); cpu% = whole machine busy "
        "(100 = every core); steal% = taken by the hypervisor; bench% = this load generator (of one core)"
    )
    parts = [title, _table(headers, rows)]
    for level in result.levels:
        delay = level.event_delay
        if delay is None:
            continue
        d = delay.delay
        parts.append(
            f"\nEnd 204 → execution.ended consumed, at concurrency {delay.concurrency}: "
            f"p50 {_ms(d.p50_ms)} ms, p90 {_ms(d.p90_ms)} ms, p99 {_ms(d.p99_ms)} ms, max {_ms(d.max_ms)} ms, "
            f"min {_ms(d.min_ms)} ms ({delay.events_matched} of {delay.ends} ends matched, "
            f"{delay.events_missing} missing)"
        )
    return "\n".join(parts)


def render_ingress(result: IngressResult) -> str:
    rows = [
        ["reports produced", f"{result.reports} ({result.runs} runs over {result.pipelines} pipelines)"],
        ["produce", f"{result.produce_seconds:.2f} s = {result.produce_reports_per_second:.0f} reports/s"],
        [
            "absorbed",
            f"{_num(result.absorb_seconds, '.2f')} s = {_num(result.absorb_reports_per_second)} reports/s"
            + ("" if result.complete else "  (INCOMPLETE: no new event for --event-timeout seconds)"),
        ],
        ["first execution.ended", f"{_num(result.first_event_after_seconds, '.2f')} s after the first send"],
        ["runs ended / dead-lettered", f"{result.runs_ended} / {result.runs_dead_lettered} of {result.runs}"],
    ]
    if result.cpu is not None:
        rows.append(["cpu", f"machine {_num(result.cpu.machine_busy_percent)}% busy (100 = every core)"])
    if result.runs_ended + result.runs_dead_lettered == 0:
        rows.append(["hint", "no run settled at all: see the execution-tracking worker's log"])
    width = max(len(r[0]) for r in rows)
    lines = ["ingress.runs absorbed by execution-tracking (first send → last execution.ended consumed)"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(lines)


def _case_row(case: QueryCase) -> list[str]:
    lat = case.latency
    return [
        case.case,
        str(lat.count),
        _ms(lat.p50_ms), _ms(lat.p90_ms), _ms(lat.p99_ms), _ms(lat.max_ms),
        f"{_ms(case.nodes_p50)} / {case.nodes_max}",
        f"{_ms(case.edges_p50)} / {case.edges_max}",
        str(case.truncated),
        ", ".join(f"{kind}: {n}" for kind, n in case.errors.items()) or "0",
        "yes" if case.meets_target else "NO",
    ]  # fmt: skip


def render_lineage(result: LineageResult, settings: BenchSettings) -> str:
    build = result.build
    lines = [
        f"Lineage graph: {result.domains} domains x {result.layers} layers x {result.datasets_per_layer} datasets "
        f"+ 1 hub = {result.datasets:,} datasets, {result.jobs:,} jobs, {result.edges:,} distinct edges"
    ]
    if build.skipped:
        lines.append("  build: skipped, the graph was already there")
    else:
        lines.append(
            f"  build: {build.events:,} RunEvents produced in {_num(build.produce_seconds, '.2f')} s; "
            f"every dataset listed after {_num(build.build_seconds, '.2f')} s = "
            f"{_num(build.events_per_second)} events/s ingested"
            + ("" if build.complete else f"  (INCOMPLETE: {build.datasets_listed:,} of {result.datasets:,} "
               "datasets listed when no new one came for --event-timeout seconds)")
        )  # fmt: skip
        if build.dead_lettered:
            lines.append(f"  dead-lettered: {build.dead_lettered} records in ingress.lineage.dlq")
    if result.rerun is not None:
        r = result.rerun
        lines.append(
            f"  known jobs again: {r.events:,} new runs of existing jobs, {r.recorded:,} execution.ended out after "
            f"{r.seconds:.2f} s = {r.events_per_second:.0f} events/s ingested"
        )
    if not result.cases:
        lines.append("  queries: not run, the graph is incomplete (see the lineage consumer's log)")
        return "\n".join(lines)
    headers = ["case", "n", "p50", "p90", "p99", "max", "nodes p50/max", "edges p50/max", "trunc", "errors",
               f"p99<{result.target_p99_ms:g}"]  # fmt: skip
    rows = [_case_row(case) for case in result.cases]
    lines += [
        "",
        f"Lineage queries through the gateway {settings.gateway_url}, sequential on one connection, "
        f"depth {result.depth}; {settings.lineage_warmup_requests} unmeasured requests before each case; "
        f"latencies in ms;\ntarget: p99 < {result.target_p99_ms:g} ms at depth {result.depth} "
        f"on >= 100,000 edges; trunc = answers cut at the node limit",
        _table(headers, rows),
    ]
    if result.hub is not None:
        lines += [
            "",
            f"Worst case, apart ({HUB_WARMUP} unmeasured requests first):",
            _table(headers, [_case_row(result.hub)]),
        ]
    return "\n".join(lines)


def render_anomaly(result: AnomalyResult) -> str:
    stream, cpu = result.stream, result.cpu
    stages = [("flag visible", result.delay)] + [(f"{name} seen", lat) for name, lat in result.stages.items()]
    rows = [
        [label, str(lat.count), *map(_ms, (lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.max_ms, lat.min_ms))]
        for label, lat in stages
    ]
    table = _table(["end 204 →", "n", "p50", "p90", "p99", "max", "min"], rows)
    errors = ", ".join(f"{kind}: {n}" for kind, n in result.errors.items()) or "0"
    groups = sorted(stream.lag_at_stop)
    peak = ", ".join(f"{g} {max((s.groups.get(g, 0) for s in stream.lag), default=0):,}" for g in groups)
    at_stop = ", ".join(f"{g} {stream.lag_at_stop[g]:,}" for g in groups)
    drained = (
        f"none left {stream.drain_seconds:.1f} s later"
        if stream.drain_seconds is not None
        else "STILL LAGGING after --event-timeout seconds"
    )
    lines = [
        f"Anomaly flag delay: end 204 → `anomaly_flags.total_rows` true in GET /pipeline_execution, for outliers "
        f"(total_rows {result.outlier_total_rows:,}) probed over HTTP every {result.probe_interval_ms:g} ms on "
        f"{result.probe_pipelines} pipelines ({result.history_runs} past runs each), polled every "
        f"{result.poll_interval_ms:g} ms once anomaly.detected is out; latencies in ms;",
        f"target p99 < {result.target_ms:g} ms: {'yes' if result.meets_target else 'NO'}",
        table,
        f"  probes {result.probes}: {result.flagged} flagged, {result.timeouts} timeouts, errors {errors}; "
        f"{result.polls} polls ({result.polls / max(1, result.probes):.1f} per probe)",
        f"  background: {stream.runs_per_second:.0f} runs/s achieved of {stream.target_runs_per_second:g} "
        f"({stream.runs_acknowledged:,} runs = {2 * stream.runs_acknowledged:,} reports to ingress.runs in "
        f"{stream.seconds:.1f} s over {result.background_pipelines} pipelines with a rule each, worst second "
        f"{min(stream.runs_each_second, default=0)}); a report acknowledged by the broker after "
        f"p50 {_ms(stream.ack_latency.p50_ms)} ms, p99 {_ms(stream.ack_latency.p99_ms)} ms",
        f"  consumer lag (messages): peak while streaming {peak or '-'}; at stop {at_stop or '-'}, {drained}",
        f"  setup (pipelines, rules, history, one flagged outlier per probe pipeline): {result.setup_seconds:.1f} s; "
        f"the broker held {result.broker_records_before:,} records of this path's busy topics before the stream",
    ]
    if cpu is not None:
        lines.append(
            f"  cpu during the probes: machine {_num(cpu.machine_busy_percent)}% busy (100 = every core), "
            f"steal {_num(cpu.machine_steal_percent)}%, bench {_num(cpu.bench_process_percent)}% of one core"
        )
    return "\n".join(lines)


def write_json(
    *,
    started_at: datetime,
    settings: BenchSettings,
    machine: dict[str, object],
    http: HttpResult | None,
    ingress: IngressResult | None,
    lineage: LineageResult | None = None,
    checks: ChecksResult | None = None,
    anomaly: AnomalyResult | None = None,
    directory: Path = RESULTS_DIR,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{started_at:%Y%m%dT%H%M%SZ}.json"
    document: dict[str, object] = {
        "started_at": started_at.isoformat(),
        "machine": machine,
        "settings": {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "token"},
        "http": http,
        "ingress": ingress,
        "lineage": lineage,
        "checks": checks,
        "anomaly": anomaly,
    }
    path.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
    return path
