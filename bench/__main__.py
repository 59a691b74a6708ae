"""`python -m bench`: load-generate against a running Headwater and report throughput and latency."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from bench.anomaly import AnomalyResult, AnomalyUnavailable, measure_anomaly
from bench.checks import ChecksResult, ChecksUnavailable, measure_checks, render_checks
from bench.http_load import HttpResult, measure_http
from bench.ingress import IngressResult, measure_ingress
from bench.lineage import LineageResult, LineageUnavailable, measure_lineage, min_jobs_per_step
from bench.machine import CpuMeter, machine_info
from bench.report import render_anomaly, render_http, render_ingress, render_lineage, write_json
from bench.settings import (
    GATEWAY_URL_ENV,
    KAFKA_BOOTSTRAP_ENV,
    MISSING_TOKEN,
    TOKEN_ENV,
    TOPIC_PREFIX_ENV,
    BenchSettings,
)


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be positive integers")
    return levels


def parse_args(argv: list[str] | None = None) -> BenchSettings:
    """Settings from the command line; every default is `BenchSettings`'s, or the environment's for targets."""
    defaults = BenchSettings()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load-generate against a running Headwater (`make up`) and report throughput and latency.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--only",
        choices=("http", "ingress", "lineage", "checks", "anomaly", "all"),
        default="all",
        help="measurements to run",
    )
    parser.add_argument(
        "--event-timeout",
        type=float,
        default=defaults.event_timeout,
        help="stop waiting for events after this many seconds without a new one",
    )
    target = parser.add_argument_group("target (defaults from HEADWATER_* environment variables)")
    for flag, env, default in (
        ("--gateway-url", GATEWAY_URL_ENV, defaults.gateway_url),
        ("--kafka-bootstrap", KAFKA_BOOTSTRAP_ENV, defaults.kafka_bootstrap),
        ("--topic-prefix", TOPIC_PREFIX_ENV, defaults.topic_prefix),
    ):
        target.add_argument(flag, default=os.environ.get(env, default), help=f"${env}")
    # Its default is read after parsing, so that --help does not print the token.
    target.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help=f"API token sent to the gateway as `Authorization: Bearer` (default: ${TOKEN_ENV}, which `make up` "
        "gives the bootstrap superuser)",
    )
    http = parser.add_argument_group("http: start+end pairs through the gateway")
    http.add_argument(
        "--concurrency", type=_levels, default=defaults.concurrency, help="comma-separated levels"
    )
    http.add_argument("--duration", type=float, default=defaults.duration, help="measured seconds per level")
    http.add_argument(
        "--warmup", type=float, default=defaults.warmup, help="unmeasured seconds before each level"
    )
    http.add_argument(
        "--delay-at",
        type=int,
        default=argparse.SUPPRESS,
        help="level during which the end → execution.ended delay is measured (default: the highest; 0: none)",
    )
    ingress = parser.add_argument_group("ingress: run reports absorbed from ingress.runs")
    ingress.add_argument(
        "--reports", type=int, default=defaults.reports, help="reports to produce (2 per run)"
    )
    ingress.add_argument(
        "--ingress-pipelines",
        type=int,
        default=defaults.ingress_pipelines,
        help="pipelines the runs are spread over",
    )
    lineage = parser.add_argument_group(
        "lineage: graph queries through the gateway, on a graph built over ingress.lineage (once)"
    )
    lineage.add_argument(
        "--lineage-domains",
        type=int,
        default=defaults.lineage_domains,
        help="independent layered DAGs in the graph",
    )
    lineage.add_argument(
        "--lineage-jobs-per-step",
        type=int,
        default=defaults.lineage_jobs_per_step,
        help=f"jobs between two adjacent layers of a domain (at least {min_jobs_per_step()})",
    )
    lineage.add_argument(
        "--lineage-requests",
        type=int,
        default=defaults.lineage_requests,
        help="measured requests per query case",
    )
    lineage.add_argument(
        "--lineage-warmup-requests",
        type=int,
        default=defaults.lineage_warmup_requests,
        help="unmeasured requests before each query case",
    )
    lineage.add_argument(
        "--lineage-hub-requests",
        type=int,
        default=defaults.lineage_hub_requests,
        help="measured requests of the hub's downstream query, the worst case",
    )
    lineage.add_argument("--lineage-depth", type=int, default=defaults.lineage_depth, help="hops per query")
    checks = parser.add_argument_group(
        "checks: freshness and timeliness checks on pipelines written into quality-alerting's database"
    )
    checks.add_argument(
        "--checks-pipelines", type=int, default=defaults.checks_pipelines, help="pipelines checked"
    )
    checks.add_argument(
        "--checks-runs", type=int, default=defaults.checks_runs, help="measured runs per check"
    )
    checks.add_argument(
        "--checks-new-per-run",
        type=int,
        default=defaults.checks_new_per_run,
        help="pipelines gone stale (executions gone late) before each run, each alerted",
    )
    anomaly = parser.add_argument_group(
        "anomaly: end 204 → anomaly flag visible, for outliers probed over HTTP while runs stream to ingress.runs"
    )
    for flag, kind, help_text in (
        ("--anomaly-pipelines", int, "probe pipelines (a rule and a history each)"),
        ("--anomaly-background-pipelines", int, "pipelines the background runs go to (a rule each)"),
        ("--anomaly-rate", float, "background runs per second"),
        ("--anomaly-duration", float, "seconds during which probes start"),
        ("--anomaly-warmup", float, "seconds of background stream before the first probe"),
        ("--anomaly-probe-interval", float, "seconds between probes"),
        ("--anomaly-poll-interval", float, "seconds between a probe's polls of its execution"),
        ("--anomaly-probe-timeout", float, "seconds after which an unflagged probe counts as a timeout"),
    ):
        dest = flag.removeprefix("--").replace("-", "_")
        anomaly.add_argument(flag, type=kind, default=getattr(defaults, dest), help=help_text)
    anomaly.add_argument(
        "--anomaly-trace",
        action="store_true",
        help="follow execution.ended too, splitting off execution-tracking's relay (adds broker load)",
    )
    args = parser.parse_args(argv)
    if args.reports < 2 or args.ingress_pipelines < 1:
        parser.error("--reports must be at least 2 and --ingress-pipelines at least 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if args.lineage_domains < 1 or args.lineage_jobs_per_step < min_jobs_per_step():
        parser.error(
            f"--lineage-domains must be positive and --lineage-jobs-per-step at least {min_jobs_per_step()}"
        )
    if args.lineage_requests < 1 or args.lineage_hub_requests < 1 or args.lineage_warmup_requests < 0:
        parser.error(
            "--lineage-requests and --lineage-hub-requests must be positive, the warm-up not negative"
        )
    if args.lineage_depth < 1:
        parser.error("--lineage-depth must be positive")
    if args.checks_pipelines < 20 or args.checks_runs < 1 or args.checks_new_per_run < 0:
        parser.error(
            "--checks-pipelines must be at least 20, --checks-runs positive, --checks-new-per-run not negative"
        )
    if (
        min(args.anomaly_pipelines, args.anomaly_background_pipelines) < 1
        or min(args.anomaly_rate, args.anomaly_duration, args.anomaly_probe_interval) <= 0
        or min(args.anomaly_warmup, args.anomaly_poll_interval) < 0
        or args.anomaly_probe_timeout <= 0
    ):
        parser.error(
            "--anomaly-pipelines, --anomaly-background-pipelines, --anomaly-rate, --anomaly-duration, "
            "--anomaly-probe-interval and --anomaly-probe-timeout must be positive, the others not negative"
        )
    delay_at: int = getattr(args, "delay_at", max(args.concurrency))
    token: str = getattr(args, "token", os.environ.get(TOKEN_ENV, ""))
    settings = BenchSettings(
        gateway_url=args.gateway_url,
        token=token.strip(),
        kafka_bootstrap=args.kafka_bootstrap,
        topic_prefix=args.topic_prefix,
        run_http=args.only in ("all", "http"),
        run_ingress=args.only in ("all", "ingress"),
        run_lineage=args.only in ("all", "lineage"),
        run_checks=args.only in ("all", "checks"),
        run_anomaly=args.only in ("all", "anomaly"),
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        delay_at=delay_at or None,
        reports=args.reports,
        ingress_pipelines=args.ingress_pipelines,
        lineage_domains=args.lineage_domains,
        lineage_jobs_per_step=args.lineage_jobs_per_step,
        lineage_requests=args.lineage_requests,
        lineage_warmup_requests=args.lineage_warmup_requests,
        lineage_hub_requests=args.lineage_hub_requests,
        lineage_depth=args.lineage_depth,
        checks_pipelines=args.checks_pipelines,
        checks_runs=args.checks_runs,
        checks_new_per_run=args.checks_new_per_run,
        anomaly_pipelines=args.anomaly_pipelines,
        anomaly_background_pipelines=args.anomaly_background_pipelines,
        anomaly_rate=args.anomaly_rate,
        anomaly_duration=args.anomaly_duration,
        anomaly_warmup=args.anomaly_warmup,
        anomaly_probe_interval=args.anomaly_probe_interval,
        anomaly_poll_interval=args.anomaly_poll_interval,
        anomaly_probe_timeout=args.anomaly_probe_timeout,
        anomaly_trace=args.anomaly_trace,
        event_timeout=args.event_timeout,
    )
    if settings.calls_gateway and not settings.token:
        # Not `parser.error`: its usage lines would bury the message.
        parser.exit(2, f"{parser.prog}: error: {MISSING_TOKEN}\n")
    return settings


async def _idle_cpu_percent(seconds: float = 2.0) -> float | None:
    """How busy the machine is before the bench starts: anything else running skews every number."""
    meter = CpuMeter()
    await asyncio.sleep(seconds)
    return meter.stop().machine_busy_percent


async def run(settings: BenchSettings, event_loop: str) -> None:
    started_at = datetime.now(UTC)
    machine = machine_info(event_loop)
    machine["busy_percent_before_start"] = busy = await _idle_cpu_percent()
    if busy is not None and busy > 15:
        print(f"warning: the machine is already {busy:.0f}% busy before the bench starts", file=sys.stderr)
    print(
        f"bench {settings.run_tag}: gateway {settings.gateway_url}, kafka {settings.kafka_bootstrap}, "
        f"topic prefix {settings.topic_prefix!r}; {machine['nproc']} CPUs, Python {machine['python']}, "
        f"{event_loop}",
        file=sys.stderr,
    )
    http: HttpResult | None = None
    ingress: IngressResult | None = None
    lineage: LineageResult | None = None
    checks: ChecksResult | None = None
    anomaly: AnomalyResult | None = None
    if settings.run_http:
        http = await measure_http(settings)
    if settings.run_ingress:
        ingress = await measure_ingress(settings)
    if settings.run_lineage:
        try:
            lineage = await measure_lineage(settings)
        except LineageUnavailable as exc:
            if http is None and ingress is None:
                raise SystemExit(f"lineage: {exc}") from exc
            print(f"warning: lineage not measured: {exc}", file=sys.stderr)  # keep the other results
    if settings.run_checks:
        try:
            checks = await measure_checks(settings)
        except ChecksUnavailable as exc:
            if http is None and ingress is None and lineage is None:
                raise SystemExit(f"checks: {exc}") from exc
            print(f"warning: checks not measured: {exc}", file=sys.stderr)
    if settings.run_anomaly:
        try:
            anomaly = await measure_anomaly(settings)
        except AnomalyUnavailable as exc:
            if http is None and ingress is None and lineage is None and checks is None:
                raise SystemExit(f"anomaly: {exc}") from exc
            print(f"warning: anomaly not measured: {exc}", file=sys.stderr)
    path = write_json(
        started_at=started_at,
        settings=settings,
        machine=machine,
        http=http,
        ingress=ingress,
        lineage=lineage,
        checks=checks,
        anomaly=anomaly,
    )
    sections = [
        f"Headwater bench {settings.run_tag} — {machine['nproc']} CPUs, Python {machine['python']}, {event_loop}"
    ]
    if http is not None:
        sections.append(render_http(http, settings))
    if ingress is not None:
        sections.append(render_ingress(ingress))
    if lineage is not None:
        sections.append(render_lineage(lineage, settings))
    if checks is not None:
        sections.append(render_checks(checks))
    if anomaly is not None:
        sections.append(render_anomaly(anomaly))
    sections.append(f"results: {path}")
    print("\n\n".join(sections))


def _loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    try:
        import uvloop
    except ImportError:
        return None, "asyncio"
    return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    loop_factory, event_loop = _loop_factory()
    coroutine: Coroutine[Any, Any, None] = run(settings, event_loop)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            runner.run(coroutine)
        except KeyboardInterrupt:
            sys.exit(130)


if __name__ == "__main__":
    main()
