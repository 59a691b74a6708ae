"""Measurement 1: start+end execution pairs per second through the gateway, at several concurrency levels.

Each of `concurrency` workers owns one pipeline and loops: `POST /start_pipeline_execution`, then
`POST /end_pipeline_execution` for the same execution. A level runs `warmup` seconds unmeasured, then `duration`
seconds measured: a request counts when it completes inside the measured window, a pair when its end does. The
workers of a level share one keep-alive connection pool of exactly `concurrency` connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiohttp
import msgspec

from bench.event_delay import EventDelayProbe, EventDelayResult
from bench.machine import CpuMeter, CpuUsage
from bench.settings import BenchSettings
from bench.stats import LatencySummary

Endpoint = Literal["start", "end"]
ENDPOINTS: tuple[Endpoint, ...] = ("start", "end")

ERROR_PAUSE = 0.05  # after a failed request, so a down system is not hammered in a tight loop
MIN_RUN = timedelta(microseconds=1)  # an end must come strictly after its start


class RequestFailed(Exception):
    """A request got an unexpected status or no answer; `kind` is what the error counts are keyed by, `status`
    the HTTP status when there was an answer (401: the gateway does not know the token)."""

    def __init__(self, kind: str, status: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


class _CreatePipeline(msgspec.Struct):
    name: str
    pipeline_type_name: str


class _StartExecution(msgspec.Struct):
    pipeline_id: int
    start_date: datetime


class _EndExecution(msgspec.Struct):
    id: int
    end_date: datetime
    completed_successfully: bool
    total_rows: int


class _Created(msgspec.Struct):
    id: int


_encoder = msgspec.json.Encoder()
_created = msgspec.json.Decoder(_Created)
_JSON_HEADERS = {"content-type": "application/json"}


class GatewayClient:
    """The three Watcher calls the bench makes, over one aiohttp session."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._session = session

    async def _post(self, path: str, body: msgspec.Struct, expect: tuple[int, ...]) -> bytes:
        try:
            async with self._session.post(
                self._base + path, data=_encoder.encode(body), headers=_JSON_HEADERS
            ) as resp:
                payload = await resp.read()
                if resp.status not in expect:
                    raise RequestFailed(f"HTTP {resp.status}", resp.status)
                return payload
        except aiohttp.ClientError as exc:
            raise RequestFailed(type(exc).__name__) from exc
        except TimeoutError as exc:
            raise RequestFailed("timeout") from exc

    async def create_pipeline(self, name: str, pipeline_type_name: str) -> int:
        body = await self._post("/pipeline", _CreatePipeline(name, pipeline_type_name), (200, 201))
        return _created.decode(body).id

    async def start_execution(self, pipeline_id: int, start_date: datetime) -> int:
        body = await self._post("/start_pipeline_execution", _StartExecution(pipeline_id, start_date), (201,))
        return _created.decode(body).id

    async def end_execution(self, execution_id: int, end_date: datetime) -> None:
        await self._post("/end_pipeline_execution", _EndExecution(execution_id, end_date, True, 10), (204,))


@contextlib.asynccontextmanager
async def open_client(settings: BenchSettings, connections: int) -> AsyncIterator[GatewayClient]:
    async with settings.gateway_session(connections) as session:
        yield GatewayClient(settings.gateway_url, session)


@dataclass(frozen=True)
class LevelResult:
    concurrency: int
    measured_seconds: float
    pairs: int
    pairs_per_second: float
    pairs_each_second: list[int]  # pairs completed in each second of the window: stalls show up as dips
    latency: dict[str, LatencySummary]  # by endpoint: start, end
    errors: dict[str, dict[str, int]]  # by endpoint, then by kind (`HTTP 500`, `timeout`, ...)
    cpu: CpuUsage | None
    event_delay: EventDelayResult | None = None


@dataclass(frozen=True)
class HttpResult:
    pipelines: int
    levels: list[LevelResult]


@dataclass
class _LevelRecorder:
    """What the workers of one level observed; only completions inside [opens, closes) are measured."""

    opens: float
    closes: float
    latencies: dict[Endpoint, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    errors: dict[Endpoint, Counter[str]] = field(default_factory=lambda: {e: Counter() for e in ENDPOINTS})
    pairs_each_second: list[int] = field(default_factory=list)
    cpu: CpuUsage | None = None

    def __post_init__(self) -> None:
        self.pairs_each_second = [0] * math.ceil(round(self.closes - self.opens, 6))

    @property
    def pairs(self) -> int:
        return sum(self.pairs_each_second)

    def measured(self, at: float) -> bool:
        return self.opens <= at < self.closes

    def succeeded(self, endpoint: Endpoint, began: float, ended: float) -> bool:
        if not self.measured(ended):
            return False
        self.latencies[endpoint].append(ended - began)
        return True

    def failed(self, endpoint: Endpoint, kind: str, at: float) -> None:
        if self.measured(at):
            self.errors[endpoint][kind] += 1


async def _worker(
    client: GatewayClient, pipeline_id: int, rec: _LevelRecorder, probe: EventDelayProbe | None
) -> None:
    clock = time.perf_counter
    while (began := clock()) < rec.closes:
        start_date = datetime.now(UTC)
        try:
            execution_id = await client.start_execution(pipeline_id, start_date)
        except RequestFailed as exc:
            rec.failed("start", exc.kind, clock())
            await asyncio.sleep(ERROR_PAUSE)
            continue
        started = clock()
        rec.succeeded("start", began, started)
        try:
            await client.end_execution(execution_id, max(datetime.now(UTC), start_date + MIN_RUN))
        except RequestFailed as exc:
            rec.failed("end", exc.kind, clock())
            await asyncio.sleep(ERROR_PAUSE)
            continue
        ended = clock()
        if rec.succeeded("end", started, ended):
            rec.pairs_each_second[int(ended - rec.opens)] += 1
            if probe is not None:
                probe.end_acknowledged(execution_id, ended)


async def _meter_cpu(rec: _LevelRecorder) -> None:
    await asyncio.sleep(rec.opens - time.perf_counter())
    meter = CpuMeter()
    await asyncio.sleep(rec.closes - time.perf_counter())
    rec.cpu = meter.stop()


async def _run_level(
    settings: BenchSettings, pipeline_ids: list[int], concurrency: int, probe: EventDelayProbe | None
) -> _LevelRecorder:
    opens = time.perf_counter() + settings.warmup
    rec = _LevelRecorder(opens=opens, closes=opens + settings.duration)
    async with open_client(settings, concurrency) as client, asyncio.TaskGroup() as tasks:
        tasks.create_task(_meter_cpu(rec))
        for pipeline_id in pipeline_ids[:concurrency]:
            tasks.create_task(_worker(client, pipeline_id, rec, probe))
    return rec


async def create_pipelines(settings: BenchSettings, count: int) -> list[int]:
    """One pipeline per worker, so concurrent ends never wait on each other's pipeline row."""
    async with open_client(settings, 1) as client:
        return [
            await client.create_pipeline(f"{settings.run_tag}-http-{i}", "bench-http") for i in range(count)
        ]


async def measure_http(settings: BenchSettings) -> HttpResult:
    try:
        pipeline_ids = await create_pipelines(settings, max(settings.concurrency))
    except RequestFailed as exc:
        if exc.status == 401:
            raise SystemExit(settings.rejected_token()) from exc
        message = f"cannot create pipelines at {settings.gateway_url} ({exc.kind}): is the system up?"
        raise SystemExit(message) from exc
    levels = []
    for concurrency in settings.concurrency:
        print(f"http: concurrency {concurrency} ...", file=sys.stderr, flush=True)
        async with contextlib.AsyncExitStack() as stack:
            probe = None
            if concurrency == settings.delay_at:
                probe = await stack.enter_async_context(EventDelayProbe(settings, concurrency))
            rec = await _run_level(settings, pipeline_ids, concurrency, probe)
            if probe is not None:
                await probe.wait_for_events()
            levels.append(
                LevelResult(
                    concurrency=concurrency,
                    measured_seconds=settings.duration,
                    pairs=rec.pairs,
                    pairs_per_second=rec.pairs / settings.duration,
                    pairs_each_second=rec.pairs_each_second,
                    latency={e: LatencySummary.of_seconds(rec.latencies[e]) for e in ENDPOINTS},
                    errors={e: dict(rec.errors[e]) for e in ENDPOINTS},
                    cpu=rec.cpu,
                    event_delay=probe.result() if probe is not None else None,
                )
            )
    return HttpResult(pipelines=len(pipeline_ids), levels=levels)
