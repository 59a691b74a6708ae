"""Measurement 3: how fast one execution-tracking worker absorbs run reports from `ingress.runs`.

`reports` messages (`reports / 2` runs, each a `run.started` then a `run.ended`, keyed by pipeline name) are
encoded up front, then produced as fast as the broker acknowledges them. The clock runs from the first produce
until the last run's `execution.ended` event (matched by a `run_id` prefix unique to this bench run) arrives;
a report the service dead-letters to `ingress.runs.dlq` also settles its run, and is counted apart. The
produce rate is reported separately, so the reader can tell which side limited the absorption rate.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from aiokafka import AIOKafkaProducer

from bench.kafka_tail import TopicTail
from bench.machine import CpuMeter, CpuUsage
from bench.settings import BenchSettings
from headwater.common.events.execution_tracking import ExecutionEnded
from headwater.common.events.ingress import RunEnded, RunStarted
from headwater.common.messaging.topics import dlq_topic, prefixed


class _RunProbe(msgspec.Struct):
    """The field of an `execution.ended` event, or of a dead-lettered report, that names the run."""

    run_id: str | None = None


_decoder = msgspec.json.Decoder(_RunProbe)


@dataclass(frozen=True)
class IngressResult:
    reports: int
    runs: int
    pipelines: int
    produce_seconds: float  # first send until the broker acknowledged the last report
    produce_reports_per_second: float
    absorb_seconds: float | None  # first send until the last run's `execution.ended` arrived
    absorb_reports_per_second: float | None
    first_event_after_seconds: float | None  # first send until the first `execution.ended` of this run
    runs_ended: int  # runs whose `execution.ended` arrived
    runs_dead_lettered: int  # runs with a report in `ingress.runs.dlq`
    complete: bool  # every run settled before `event_timeout` passed without progress
    cpu: CpuUsage | None


def build_reports(settings: BenchSettings, run_prefix: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every report, in produce order: each run's start right before its end."""
    runs = settings.reports // 2
    ended_at = datetime.now(UTC)
    started_at = ended_at - timedelta(seconds=30)
    pipelines = [f"{settings.run_tag}-ingress-{p}" for p in range(settings.ingress_pipelines)]
    messages: list[tuple[bytes, bytes]] = []
    for i in range(runs):
        pipeline = pipelines[i % len(pipelines)]
        run_id = f"{run_prefix}{i}"
        started = RunStarted(
            run_id=run_id, pipeline_name=pipeline, pipeline_type_name="bench-ingress", start_date=started_at
        )
        ended = RunEnded(
            run_id=run_id,
            pipeline_name=pipeline,
            end_date=ended_at,
            completed_successfully=True,
            total_rows=10,
        )
        key = pipeline.encode()
        messages += [(key, msgspec.json.encode(started)), (key, msgspec.json.encode(ended))]
    return messages


class _Settlement:
    """Which of this bench run's runs have settled (ended event or dead letter), and when."""

    def __init__(self, run_prefix: str, runs: int, ended_topic: str) -> None:
        self._prefix = run_prefix
        self._runs = runs
        self._ended_topic = ended_topic
        self.ended: set[str] = set()
        self.dead_lettered: set[str] = set()
        self.settled: set[str] = set()
        self.first_event: float | None = None
        self.last_event: float | None = None
        self.progress = asyncio.Event()
        self.done = asyncio.Event()

    def on_record(self, topic: str, value: bytes, arrived: float) -> None:
        try:
            run_id = _decoder.decode(value).run_id
        except msgspec.MsgspecError:
            return
        if run_id is None or not run_id.startswith(self._prefix):
            return
        if topic == self._ended_topic:
            if run_id in self.ended:
                return
            self.ended.add(run_id)
            self.first_event = self.first_event or arrived
            self.last_event = arrived
        else:
            self.dead_lettered.add(run_id)
        self.settled.add(run_id)
        self.progress.set()
        if len(self.settled) >= self._runs:
            self.done.set()

    async def wait(self, no_progress_timeout: float) -> bool:
        """True when every run settled; False when `no_progress_timeout` passed without a new settlement."""
        while not self.done.is_set():
            self.progress.clear()
            try:
                await asyncio.wait_for(self.progress.wait(), no_progress_timeout)
            except TimeoutError:
                return False
        return True


async def produce(settings: BenchSettings, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Send every message and wait for the acknowledgements; returns when the last one was acknowledged.

    Shared with the lineage measurement, so both produce with the same client settings.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="headwater-bench",
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        acknowledgements = [await producer.send(topic, value=value, key=key) for key, value in messages]
        await asyncio.gather(*acknowledgements)
        return time.perf_counter()
    finally:
        await producer.stop()


async def measure_ingress(settings: BenchSettings) -> IngressResult:
    runs = settings.reports // 2
    run_prefix = f"{settings.run_tag}-run-"
    ended_topic = prefixed(settings.topic_prefix, ExecutionEnded.topic)
    ingress_topic = prefixed(settings.topic_prefix, RunStarted.topic)
    settlement = _Settlement(run_prefix, runs, ended_topic)
    messages = build_reports(settings, run_prefix)
    print(f"ingress: producing {len(messages)} reports ...", file=sys.stderr, flush=True)
    async with TopicTail(
        settings.kafka_bootstrap, [ended_topic, dlq_topic(ingress_topic)], settlement.on_record
    ):
        meter = CpuMeter()
        began = time.perf_counter()
        produced = await produce(settings, ingress_topic, messages)
        complete = await settlement.wait(settings.event_timeout)
        cpu = meter.stop() if complete else None  # after a timeout the meter spans the idle wait too
    produce_seconds = produced - began
    absorb_seconds = settlement.last_event - began if complete and settlement.last_event else None
    return IngressResult(
        reports=len(messages),
        runs=runs,
        pipelines=settings.ingress_pipelines,
        produce_seconds=produce_seconds,
        produce_reports_per_second=len(messages) / produce_seconds,
        absorb_seconds=absorb_seconds,
        absorb_reports_per_second=len(messages) / absorb_seconds if absorb_seconds else None,
        first_event_after_seconds=settlement.first_event - began if settlement.first_event else None,
        runs_ended=len(settlement.ended),
        runs_dead_lettered=len(settlement.dead_lettered),
        complete=complete,
        cpu=cpu,
    )
