"""Measurement 6: delay from an end's 204 to the anomaly flag on the execution, while runs stream in.

Setup, through the gateway: `pipelines` probe pipelines, each with a `total_rows` rule (minimum 5 executions,
30-day lookback) and a history of `HISTORY_RUNS` successful runs at one UTC hour H on the days before day D
(yesterday), `total_rows` uniform in 900-1100; `background_pipelines` more pipelines with the same rule. Then one
unmeasured outlier per probe pipeline, each awaited until flagged: a barrier that proves quality-alerting holds
the whole history (the events of one pipeline share a partition, so they are consumed in order).

Measurement: a steady stream of `rate` runs per second (a `run.started` and a `run.ended` report each, on the
background pipelines, `total_rows` uniform in 900-1100, so every end is evaluated against its rule and none is
anomalous) is produced to `ingress.runs` behind a rate limiter; HTTP through the gateway cannot carry 500 pairs
a second on a 2-core machine, Kafka can. After `warmup` seconds, every `probe_interval` a probe starts and ends
a run over HTTP on the next probe pipeline at hour H of day D with `total_rows` = `OUTLIER`, takes the time of
the end's 204, then polls `GET /pipeline_execution/{id}` until `anomaly_flags` shows `total_rows: true`; the
delay is taken when that answer arrives (an upper bound, by at most one poll). Polls come every `poll_interval`
once the bench has seen the execution's `anomaly.detected` (the flag cannot be set before it is published), and
every `SLOW_POLL` before, so the bench's own GETs do not grow with the delay it measures. Probes start for
`duration` seconds; the stream runs until the last probe settles.

A flagged run joins no later baseline, so every probe of a pipeline meets the same baseline (the history). Even
when a stall puts two probes of one pipeline in one batch, the first one still counts among the other's
baseline of 12 + 1 and the probe stays beyond three standard deviations.

Whether the services keep up: the lag of execution-tracking's and quality-alerting's consumer groups (as the
queue monitor reads it) every `LAG_INTERVAL` seconds, and after the stream stops, how long until neither lags.

The time the bench sees each probe's `anomaly.detected` splits the delay in two: 204 → anomaly.detected seen
(execution-tracking's outbox relay, quality-alerting's consumer, detection and relay), and the rest
(execution-tracking's verdict consumer, the update, the poll). With `trace`, the bench follows `execution.ended`
as well, which splits off the first hop (execution-tracking's relay); that topic carries every run, and on the
dev broker (tansu) each fetch costs time in proportion to what a partition holds, so following it loads the
broker noticeably and is left off by default. Arrival times include the bench consumer's own fetch wait
(`kafka_tail`, up to ~30 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from bench.kafka_tail import TopicTail
from bench.machine import CpuMeter, CpuUsage
from bench.settings import BenchSettings
from bench.stats import LatencySummary
from headwater.common.events.execution_tracking import ExecutionEnded
from headwater.common.events.ingress import RunEnded, RunStarted
from headwater.common.events.quality_alerting import AnomalyDetected
from headwater.common.messaging.topics import parse_consumer_groups, prefixed
from headwater.quality_alerting.adapters.kafka_lag import consumer_lag
from headwater.quality_alerting.settings import Settings as QualityAlertingSettings

HISTORY_RUNS = 12  # baseline runs per probe pipeline (see the module docstring for why 12)
NORMAL_ROWS = (900, 1100)
OUTLIER = 100_000
MINIMUM_EXECUTIONS = 5
LOOKBACK_DAYS = 30
TARGET_MS = 1000.0
MAX_PROBES_PER_PIPELINE = 3000  # probes of a pipeline are a second apart within hour H of day D
SETUP_CONCURRENCY = 8
STREAM_TICK = 0.005  # the rate limiter's step
LAG_INTERVAL = 5.0  # seconds between two readings of the consumer groups' lag while the stream runs
LAGGING_GROUPS = ("execution-tracking", "quality-alerting")
BUSY_TOPICS = ("ingress.runs", "execution.started", "execution.ended", "pipeline.changed")
FULL_BROKER = 50_000  # records in BUSY_TOPICS above which the bench warns (one 60 s run leaves ~165,000)
SLOW_POLL = 0.5  # seconds between polls of an execution whose anomaly.detected the bench has not seen yet


class AnomalyUnavailable(Exception):
    """The gateway or the broker cannot be reached, or the setup did not settle."""


class RequestFailed(Exception):
    """A gateway call got an unexpected status or no answer; `kind` is what the error counts are keyed by, `status`
    the HTTP status when there was an answer (401: the gateway does not know the token)."""

    def __init__(self, kind: str, status: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


class _Created(msgspec.Struct):
    id: int


class _Execution(msgspec.Struct):
    anomaly_flags: dict[str, bool] | None = None


class _EventProbe(msgspec.Struct):
    """The field of an `execution.ended` or `anomaly.detected` event this measurement reads."""

    execution_id: int | None = None


_created = msgspec.json.Decoder(_Created)
_execution = msgspec.json.Decoder(_Execution)
_event = msgspec.json.Decoder(_EventProbe)
_encoder = msgspec.json.Encoder()
_JSON = {"content-type": "application/json"}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class _Gateway:
    """The Watcher calls this measurement makes, over one aiohttp session."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._session = session

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None, expect: tuple[int, ...]
    ) -> bytes:
        data = None if body is None else _encoder.encode(body)
        try:
            async with self._session.request(method, self._base + path, data=data, headers=_JSON) as resp:
                payload = await resp.read()
                if resp.status not in expect:
                    raise RequestFailed(f"{path.split('/')[1]} HTTP {resp.status}", resp.status)
                return payload
        except aiohttp.ClientError as exc:
            raise RequestFailed(type(exc).__name__) from exc
        except TimeoutError as exc:
            raise RequestFailed("timeout") from exc

    async def create_pipeline(self, name: str) -> int:
        body = {"name": name, "pipeline_type_name": "bench-anomaly"}
        return _created.decode(await self._call("POST", "/pipeline", body, (200, 201))).id

    async def create_rule(self, pipeline_id: int) -> None:
        body = {
            "pipeline_id": pipeline_id,
            "metric_field": "total_rows",
            "minimum_executions": MINIMUM_EXECUTIONS,
            "lookback_days": LOOKBACK_DAYS,
        }
        await self._call("POST", "/anomaly_detection_rule", body, (200, 201))

    async def run(self, pipeline_id: int, start: datetime, total_rows: int) -> int:
        """Start and end one successful run; returns its id once the end got its 204."""
        started = await self._call(
            "POST",
            "/start_pipeline_execution",
            {"pipeline_id": pipeline_id, "start_date": _iso(start)},
            (201,),
        )
        execution_id = _created.decode(started).id
        end = {
            "id": execution_id,
            "end_date": _iso(start + timedelta(minutes=1)),
            "completed_successfully": True,
            "total_rows": total_rows,
        }
        await self._call("POST", "/end_pipeline_execution", end, (204,))
        return execution_id

    async def flagged(self, execution_id: int) -> bool:
        body = await self._call("GET", f"/pipeline_execution/{execution_id}", None, (200,))
        flags = _execution.decode(body).anomaly_flags
        return bool(flags and flags.get("total_rows"))


@contextlib.asynccontextmanager
async def _gateway(settings: BenchSettings, connections: int) -> AsyncIterator[_Gateway]:
    async with settings.gateway_session(connections) as session:
        yield _Gateway(settings.gateway_url, session)


@dataclass(frozen=True)
class StreamResult:
    target_runs_per_second: float
    seconds: float  # first send until the stream stopped
    runs_acknowledged: int  # runs both of whose reports the broker acknowledged
    runs_failed: int  # runs whose end report the producer could not deliver
    runs_per_second: float  # achieved: acknowledged runs / seconds
    runs_each_second: list[int]  # acknowledged in each whole second: a stalled producer shows as a dip
    ack_latency: LatencySummary  # an end report's send → the broker's acknowledgement (5 ms linger, acks=all)
    lag: list[LagSample]  # the consumer groups' lag every `LAG_INTERVAL` seconds while the stream ran
    lag_at_stop: dict[str, int]
    drain_seconds: float | None  # stream stop until no group lags; None when that took over `event_timeout`


@dataclass(frozen=True)
class LagSample:
    seconds: float  # since the stream began
    groups: dict[str, int]  # messages each consumer group has yet to process (end minus committed offsets)


@dataclass(frozen=True)
class AnomalyResult:
    probe_pipelines: int
    background_pipelines: int
    history_runs: int  # per probe pipeline
    outlier_total_rows: int
    setup_seconds: float
    broker_records_before: int  # records already in the busy topics when the stream began (see `FULL_BROKER`)
    measured_seconds: float  # probes started during this many seconds
    probes_began_at: datetime  # when the first probe started (UTC), to line the delays up with service logs
    probe_interval_ms: float
    poll_interval_ms: float
    probes: int
    flagged: int
    timeouts: int  # not flagged within the probe timeout
    errors: dict[str, int]  # probes whose start or end failed, by kind
    polls: int  # GET /pipeline_execution requests the probes made
    delays_ms: list[
        float | None
    ]  # each probe's delay in start order (None: timed out or failed): stalls show
    delay: LatencySummary  # end 204 → anomaly_flags.total_rows true in GET /pipeline_execution
    stages: dict[str, LatencySummary]  # 204 → anomaly.detected seen (and → execution.ended seen, traced)
    traced: bool  # execution.ended followed too (adds broker load: see `--anomaly-trace`)
    target_ms: float
    meets_target: bool  # p99 of the delay under the target, no timeout
    stream: StreamResult
    cpu: CpuUsage | None  # over the probes' window


@dataclass
class _Events:
    """Arrival times (`time.perf_counter`) of the events the bench follows."""

    ended_topic: str | None  # followed only when tracing
    ended: dict[int, float] = field(default_factory=dict)  # by execution id
    detected: dict[int, float] = field(default_factory=dict)
    _watchers: dict[int, asyncio.Event] = field(default_factory=dict)

    async def wait_detected(self, execution_id: int, timeout: float) -> None:
        """Return when the execution's anomaly.detected has been seen, or after `timeout`."""
        if execution_id in self.detected or timeout <= 0:
            return
        seen = self._watchers.setdefault(execution_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(seen.wait(), timeout)

    def on_record(self, topic: str, value: bytes, arrived: float) -> None:
        try:
            event = _event.decode(value)
        except msgspec.MsgspecError:
            return
        if event.execution_id is None:
            return
        if topic == self.ended_topic:
            self.ended.setdefault(event.execution_id, arrived)
        else:
            self.detected.setdefault(event.execution_id, arrived)
            if (seen := self._watchers.pop(event.execution_id, None)) is not None:
                seen.set()


@dataclass
class _Probes:
    order: list[int | None] = field(default_factory=list)  # each probe's execution id, in start order
    acknowledged: dict[int, float] = field(default_factory=dict)  # execution id → the end's 204
    delays: dict[int, float] = field(default_factory=dict)
    timeouts: int = 0
    polls: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class _Stream:
    """Produces `rate` background runs per second to `ingress.runs` until stopped; counts acknowledgements."""

    def __init__(self, settings: BenchSettings, producer: AIOKafkaProducer, pipelines: list[int]) -> None:
        self._settings = settings
        self._producer = producer
        self._pipelines = pipelines
        self._topic = prefixed(settings.topic_prefix, RunStarted.topic)
        self._prefix = f"{settings.run_tag}-bg-"
        self._random = random.Random(7)
        self.stop = asyncio.Event()
        self.began = 0.0
        self.stopped = 0.0
        self.sent = 0
        self.acknowledged = 0
        self.failed = 0
        self.each_second: list[int] = []
        self.ack_seconds: list[float] = []  # each end report's send → broker acknowledgement

    def _acknowledged(self, sent: float, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.failed += 1
            return
        self.acknowledged += 1
        now = time.perf_counter()
        self.ack_seconds.append(now - sent)
        second = int(now - self.began)
        while len(self.each_second) <= second:
            self.each_second.append(0)
        self.each_second[second] += 1

    async def _send_run(self, i: int) -> None:
        pipeline_id = self._pipelines[i % len(self._pipelines)]
        ended_at = datetime.now(UTC)
        run_id = f"{self._prefix}{i}"
        started = RunStarted(
            run_id=run_id, pipeline_id=pipeline_id, start_date=ended_at - timedelta(seconds=30)
        )
        ended = RunEnded(
            run_id=run_id,
            pipeline_id=pipeline_id,
            end_date=ended_at,
            completed_successfully=True,
            total_rows=self._random.randint(*NORMAL_ROWS),
        )
        key = str(pipeline_id).encode()
        await self._producer.send(self._topic, value=msgspec.json.encode(started), key=key)
        # The end's acknowledgement stands for the run: both share a partition, acknowledged in order.
        sent = time.perf_counter()
        future = await self._producer.send(self._topic, value=msgspec.json.encode(ended), key=key)
        future.add_done_callback(functools.partial(self._acknowledged, sent))

    async def run(self) -> None:
        rate = self._settings.anomaly_rate
        self.began = time.perf_counter()
        while not self.stop.is_set():
            due = int((time.perf_counter() - self.began) * rate)
            while self.sent < due:
                await self._send_run(self.sent)
                self.sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), STREAM_TICK)
        self.stopped = time.perf_counter()
        await self._producer.flush()


def probe_day(now: datetime) -> tuple[date, int]:
    """Day D (yesterday) and hour H (twelve hours away from now, so the live stream's hour never meets it)."""
    return (now - timedelta(days=1)).date(), (now.hour + 12) % 24


def probe_start(day: date, hour: int, index: int) -> datetime:
    """The start of a pipeline's `index`-th probe: a second apart within hour H of day D."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
        seconds=index % MAX_PROBES_PER_PIPELINE
    )


def history_starts(day: date, hour: int) -> list[datetime]:
    """The history's starts: hour H (ten minutes past) of each of the `HISTORY_RUNS` days before D."""
    base = datetime(day.year, day.month, day.day, hour, 10, tzinfo=UTC)
    return [base - timedelta(days=d) for d in range(HISTORY_RUNS, 0, -1)]


async def _bounded(limit: int, jobs: list[Any]) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


async def _set_up(
    settings: BenchSettings, gateway: _Gateway, day: date, hour: int
) -> tuple[list[int], list[int]]:
    """Create the pipelines and their rules, and record the probe pipelines' history."""
    tag = settings.run_tag
    probe_ids = await _bounded(
        SETUP_CONCURRENCY,
        [gateway.create_pipeline(f"{tag}-anomaly-{p}") for p in range(settings.anomaly_pipelines)],
    )
    background_ids = await _bounded(
        SETUP_CONCURRENCY,
        [
            gateway.create_pipeline(f"{tag}-anomaly-bg-{p}")
            for p in range(settings.anomaly_background_pipelines)
        ],
    )
    await _bounded(SETUP_CONCURRENCY, [gateway.create_rule(p) for p in [*probe_ids, *background_ids]])
    values = random.Random(11)

    async def history(pipeline_id: int) -> None:
        for start in history_starts(day, hour):
            await gateway.run(pipeline_id, start, values.randint(*NORMAL_ROWS))

    await _bounded(SETUP_CONCURRENCY, [history(p) for p in probe_ids])
    return probe_ids, background_ids


async def _probe(
    settings: BenchSettings,
    gateway: _Gateway,
    pipeline_id: int,
    start: datetime,
    probes: _Probes,
    events: _Events | None,
    timeout: float | None = None,
) -> None:
    """Start and end an outlier run, then poll its execution until flagged or `timeout` passes.

    The flag follows anomaly.detected, so polls every `poll_interval` begin once the bench has seen that event,
    and only every `SLOW_POLL` seconds before (or without `events`). Polling every execution in flight at the
    fast rate would load the gateway and execution-tracking more the slower the flags come (a feedback loop
    that measured the bench itself: at 20 ms, 1-2 seconds of delay meant hundreds of GETs a second).
    """
    slot = len(probes.order)
    probes.order.append(None)
    try:
        execution_id = await gateway.run(pipeline_id, start, OUTLIER)
    except RequestFailed as exc:
        probes.errors[exc.kind] += 1
        return
    probes.order[slot] = execution_id
    acknowledged = time.perf_counter()
    probes.acknowledged[execution_id] = acknowledged
    deadline = acknowledged + (settings.anomaly_probe_timeout if timeout is None else timeout)
    while True:
        if events is not None:
            await events.wait_detected(execution_id, min(SLOW_POLL, deadline - time.perf_counter()))
        probes.polls += 1
        try:
            flagged = await gateway.flagged(execution_id)
        except RequestFailed as exc:
            probes.errors[f"poll {exc.kind}"] += 1
            flagged = False
        answered = time.perf_counter()
        if flagged:
            probes.delays[execution_id] = answered - acknowledged
            return
        if answered >= deadline:
            probes.timeouts += 1
            return
        if events is None:
            await asyncio.sleep(SLOW_POLL)  # the setup's barrier, unmeasured
        elif execution_id in events.detected:
            await asyncio.sleep(settings.anomaly_poll_interval)
        # else the loop's top waits for anomaly.detected, at most SLOW_POLL


async def _barrier(
    settings: BenchSettings, gateway: _Gateway, probe_ids: list[int], day: date, hour: int
) -> None:
    """One unmeasured outlier per probe pipeline, each awaited until flagged: the history is then consumed."""
    probes = _Probes()
    timeout = max(settings.event_timeout, settings.anomaly_probe_timeout)
    await _bounded(
        SETUP_CONCURRENCY,
        [_probe(settings, gateway, p, probe_start(day, hour, 0), probes, None, timeout) for p in probe_ids],
    )
    if probes.timeouts or probes.errors:
        raise AnomalyUnavailable(
            f"the setup's outliers were not all flagged within {timeout:g} s ({probes.timeouts} timeouts, "
            f"errors {dict(probes.errors)}): is quality-alerting's worker running?"
        )


async def broker_records(settings: BenchSettings) -> int:
    """Records the busy topics of this path hold: on the dev broker each fetch costs time in proportion."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        available = await consumer.topics()
        partitions = [
            TopicPartition(name, p)
            for name in (prefixed(settings.topic_prefix, t) for t in BUSY_TOPICS)
            if name in available
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def _lag(settings: BenchSettings) -> dict[str, int]:
    """What execution-tracking and quality-alerting have yet to consume, as the queue monitor reads it."""
    monitored = parse_consumer_groups(QualityAlertingSettings().monitored_consumer_groups)
    groups = {group: monitored[group] for group in LAGGING_GROUPS}
    return await consumer_lag(settings.kafka_bootstrap, groups, topic_prefix=settings.topic_prefix)


async def _sample_lag(settings: BenchSettings, stream: _Stream, samples: list[LagSample]) -> None:
    """Every `LAG_INTERVAL` seconds until cancelled: whether the services keep up with the stream."""
    while True:
        await asyncio.sleep(LAG_INTERVAL)
        lag = await _lag(settings)
        samples.append(LagSample(seconds=time.perf_counter() - stream.began, groups=lag))


async def _drain(settings: BenchSettings) -> tuple[dict[str, int], float | None]:
    """The lag when the stream stopped, and how long until no group lagged (None: over `event_timeout`)."""
    began = time.perf_counter()
    at_stop = lag = await _lag(settings)
    while any(lag.values()):
        if time.perf_counter() - began > settings.event_timeout:
            return at_stop, None
        await asyncio.sleep(0.5)
        lag = await _lag(settings)
    return at_stop, time.perf_counter() - began


async def _probe_window(
    settings: BenchSettings,
    gateway: _Gateway,
    probe_ids: list[int],
    day: date,
    hour: int,
    probes: _Probes,
    events: _Events,
) -> int:
    """Start a probe every `probe_interval` for `duration` seconds, on the probe pipelines in turn, and wait
    until each settled; returns how many started."""
    opens = time.perf_counter()
    closes = opens + settings.anomaly_duration
    tasks: list[asyncio.Task[None]] = []
    while time.perf_counter() < closes:
        n = len(tasks)
        start = probe_start(day, hour, 1 + n // len(probe_ids))  # index 0 was the setup's barrier
        probe = _probe(settings, gateway, probe_ids[n % len(probe_ids)], start, probes, events)
        tasks.append(asyncio.create_task(probe))
        next_at = opens + len(tasks) * settings.anomaly_probe_interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.gather(*tasks)
    return len(tasks)


async def measure_anomaly(settings: BenchSettings) -> AnomalyResult:
    day, hour = probe_day(datetime.now(UTC))
    connections = SETUP_CONCURRENCY + 8
    began = time.perf_counter()
    print(
        f"anomaly: {settings.anomaly_pipelines} probe pipelines with {HISTORY_RUNS} past runs each, "
        f"{settings.anomaly_background_pipelines} background pipelines ...",
        file=sys.stderr,
        flush=True,
    )
    async with _gateway(settings, connections) as gateway:
        try:
            probe_ids, background_ids = await _set_up(settings, gateway, day, hour)
        except RequestFailed as exc:
            if exc.status == 401:
                raise AnomalyUnavailable(settings.rejected_token()) from exc
            message = f"setting up at {settings.gateway_url} failed ({exc.kind}): is the system up?"
            raise AnomalyUnavailable(message) from exc
        await _barrier(settings, gateway, probe_ids, day, hour)
        setup_seconds = time.perf_counter() - began
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, client_id="headwater-bench", acks="all", linger_ms=5
        )
        try:
            records_before = await broker_records(settings)
            await producer.start()
        except KafkaError as exc:
            raise AnomalyUnavailable(
                f"cannot reach the broker at {settings.kafka_bootstrap}: {exc!r}"
            ) from exc
        if records_before > FULL_BROKER:
            print(
                f"warning: the broker already holds {records_before:,} records on {', '.join(BUSY_TOPICS)}; "
                "the dev broker (tansu) fetches slower the more a partition holds, so the delays read high: "
                "`make down && make up` first for comparable numbers",
                file=sys.stderr,
            )
        stream = _Stream(settings, producer, background_ids)
        ended_topic = prefixed(settings.topic_prefix, ExecutionEnded.topic)
        events = _Events(ended_topic if settings.anomaly_trace else None)
        topics = [prefixed(settings.topic_prefix, AnomalyDetected.topic)]
        if settings.anomaly_trace:
            topics.append(ended_topic)
        probes = _Probes()
        lag: list[LagSample] = []
        try:
            async with TopicTail(settings.kafka_bootstrap, topics, events.on_record):
                print(
                    f"anomaly: streaming {settings.anomaly_rate:g} runs/s to ingress.runs; probes every "
                    f"{settings.anomaly_probe_interval * 1000:g} ms for {settings.anomaly_duration:g} s after "
                    f"{settings.anomaly_warmup:g} s ...",
                    file=sys.stderr,
                    flush=True,
                )
                streaming = asyncio.create_task(stream.run(), name="anomaly-stream")
                sampling = asyncio.create_task(_sample_lag(settings, stream, lag), name="anomaly-lag")
                try:
                    await asyncio.sleep(settings.anomaly_warmup)
                    began_at = datetime.now(UTC)
                    meter = CpuMeter()
                    n = await _probe_window(settings, gateway, probe_ids, day, hour, probes, events)
                    cpu = meter.stop()
                    stream.stop.set()
                    await streaming
                finally:
                    stream.stop.set()
                    sampling.cancel()
                    await asyncio.wait([streaming, sampling])  # neither outlives the measurement
                lag_at_stop, drain_seconds = await _drain(settings)
        finally:
            await producer.stop()
    stream_seconds = stream.stopped - stream.began
    delays = list(probes.delays.values())
    stages = {
        topic: LatencySummary.of_seconds(seen[e] - t for e, t in probes.acknowledged.items() if e in seen)
        for topic, seen in (("execution.ended", events.ended), ("anomaly.detected", events.detected))
        if topic != "execution.ended" or settings.anomaly_trace
    }
    delay = LatencySummary.of_seconds(delays)
    return AnomalyResult(
        probe_pipelines=len(probe_ids),
        background_pipelines=len(background_ids),
        history_runs=HISTORY_RUNS,
        outlier_total_rows=OUTLIER,
        setup_seconds=setup_seconds,
        broker_records_before=records_before,
        measured_seconds=settings.anomaly_duration,
        probes_began_at=began_at,
        probe_interval_ms=settings.anomaly_probe_interval * 1000,
        poll_interval_ms=settings.anomaly_poll_interval * 1000,
        probes=n,
        flagged=len(delays),
        timeouts=probes.timeouts,
        errors=dict(probes.errors),
        polls=probes.polls,
        delays_ms=[
            round(probes.delays[e] * 1000, 1) if e is not None and e in probes.delays else None
            for e in probes.order
        ],
        delay=delay,
        stages=stages,
        traced=settings.anomaly_trace,
        target_ms=TARGET_MS,
        meets_target=delay.count > 0 and probes.timeouts == 0 and delay.p99_ms < TARGET_MS,
        stream=StreamResult(
            target_runs_per_second=settings.anomaly_rate,
            seconds=stream_seconds,
            runs_acknowledged=stream.acknowledged,
            runs_failed=stream.failed,
            runs_per_second=stream.acknowledged / stream_seconds if stream_seconds > 0 else 0.0,
            runs_each_second=stream.each_second[: int(stream_seconds)],
            ack_latency=LatencySummary.of_seconds(stream.ack_seconds),
            lag=lag,
            lag_at_stop=lag_at_stop,
            drain_seconds=drain_seconds,
        ),
        cpu=cpu,
    )
