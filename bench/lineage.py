"""Measurement 4: lineage graph queries through the gateway, on a graph of more than 100,000 edges.

The graph is built the way a real deployment gets it: OpenLineage `RunEvent`s (as the openlineage-python
client writes them) produced to `ingress.lineage`, one per job. Its shape is many small, independent
"domains", each a layered DAG: `LAYERS` layers of `WIDTH` datasets, and between two adjacent layers
`jobs_per_step` jobs that each read `READS` datasets of one layer and write `WRITES` of the next, picked with a
seeded `random.Random` so that every dataset is written (but those of layer 0) and read (but those of the last
layer). One "hub" dataset is also read by the first job of every domain, so one query has a very big answer.

The graph is deterministic and named independently of the bench run, so it is built once: when every dataset
is already listed by `GET /address` and the hub has lineage, building is skipped. Otherwise the events are
produced and `GET /address` is polled until every dataset is listed (build time and events/s ingested).

The queries then run sequentially, one connection, `warmup` unmeasured requests and `requests` measured ones
per case, each on a dataset (or job) of a random domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import msgspec

from bench.http_load import ERROR_PAUSE, RequestFailed
from bench.ingress import produce
from bench.kafka_tail import TopicTail
from bench.settings import BenchSettings
from bench.stats import LatencySummary, percentile
from headwater.common.messaging.topics import dlq_topic, prefixed

RERUN_JOBS = 5000  # known jobs run again to measure steady-state ingestion

LINEAGE_TOPIC = "ingress.lineage"
NAMESPACE = "postgres://bench:5432"  # every dataset's OpenLineage namespace
JOB_NAMESPACE = "bench-lineage"
HUB = "shared.dim.calendar"
PRODUCER = "https://headwater/bench"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

LAYERS = 26  # layers 0..25 of each domain
WIDTH = 8  # datasets per layer
READS = 4  # datasets each job reads from layer L
WRITES = 2  # datasets each job writes to layer L + 1
SEED = 42
QUERY_SEED = 7

TARGET_P99_MS = 100.0
POLL_INTERVAL = 2.0  # seconds between two `GET /address` while waiting for the graph
HUB_WARMUP = 2  # the hub's answer is big: a couple of unmeasured requests are enough


class LineageUnavailable(Exception):
    """The gateway cannot list addresses or answer a lineage query: the endpoints are missing or the system down."""


# -- the graph ----------------------------------------------------------------------------------------------------


def dataset_name(domain: int, layer: int, k: int) -> str:
    return f"d{domain}.l{layer}.t{k}"


def address_name(dataset: str) -> str:
    """The address Headwater lists for an OpenLineage dataset of `NAMESPACE`."""
    return f"{NAMESPACE}/{dataset}"


def min_jobs_per_step(width: int = WIDTH, reads: int = READS, writes: int = WRITES) -> int:
    """The fewest jobs between two layers that can read every dataset of one and write every one of the next."""
    return max(math.ceil(width / reads), math.ceil(width / writes))


@dataclass(frozen=True)
class GraphJob:
    index: int
    domain: int
    step: int  # reads layer `step`, writes layer `step + 1`
    inputs: tuple[str, ...]  # dataset names within `NAMESPACE`
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"job-{self.index}"

    @property
    def pipeline_name(self) -> str:
        """The pipeline Headwater lists for this OpenLineage job."""
        return f"{JOB_NAMESPACE}/{self.name}"


@dataclass(frozen=True)
class GraphPlan:
    domains: int
    layers: int
    width: int
    jobs_per_step: int
    jobs: list[GraphJob]  # by index: domain-major, then step, then the job within the step
    datasets: list[str]  # every dataset the jobs read or write, the hub first
    edges: int  # distinct (source dataset, target dataset) pairs

    def job(self, domain: int, step: int, j: int) -> GraphJob:
        return self.jobs[(domain * (self.layers - 1) + step) * self.jobs_per_step + j]


def _covering_picks(rng: random.Random, width: int, per_job: int, jobs: int) -> list[list[int]]:
    """`jobs` picks of `per_job` distinct indices of `range(width)`, in random order, that cover every index.

    The first picks are consecutive slices of a shuffled `range(width)` (the last one topped up with random
    others when `per_job` does not divide `width`); the rest are plain random samples.
    """
    order = list(range(width))
    rng.shuffle(order)
    picks: list[list[int]] = []
    for start in range(0, width, per_job):
        pick = order[start : start + per_job]
        if len(pick) < per_job:
            pick += rng.sample([i for i in range(width) if i not in pick], per_job - len(pick))
        picks.append(pick)
    picks += [rng.sample(range(width), per_job) for _ in range(jobs - len(picks))]
    rng.shuffle(picks)
    return picks


def generate_graph(
    domains: int,
    jobs_per_step: int,
    *,
    layers: int = LAYERS,
    width: int = WIDTH,
    reads: int = READS,
    writes: int = WRITES,
    seed: int = SEED,
) -> GraphPlan:
    """The bench's lineage graph; the same arguments always give the same graph."""
    if domains < 1 or layers < 2 or not 0 < reads <= width or not 0 < writes <= width:
        raise ValueError("need a domain, two layers, and reads and writes between 1 and the layer width")
    if jobs_per_step < min_jobs_per_step(width, reads, writes):
        raise ValueError(
            f"{jobs_per_step} jobs per layer step cannot cover {width} datasets reading {reads} "
            f"and writing {writes} each: need at least {min_jobs_per_step(width, reads, writes)}"
        )
    rng = random.Random(seed)
    jobs: list[GraphJob] = []
    for domain in range(domains):
        for step in range(layers - 1):
            ins = _covering_picks(rng, width, reads, jobs_per_step)
            outs = _covering_picks(rng, width, writes, jobs_per_step)
            for j in range(jobs_per_step):
                inputs = tuple(dataset_name(domain, step, k) for k in ins[j])
                if step == 0 and j == 0:
                    inputs += (HUB,)
                jobs.append(
                    GraphJob(
                        index=len(jobs),
                        domain=domain,
                        step=step,
                        inputs=inputs,
                        outputs=tuple(dataset_name(domain, step + 1, k) for k in outs[j]),
                    )
                )
    datasets = [HUB] + [
        dataset_name(domain, layer, k)
        for domain in range(domains)
        for layer in range(layers)
        for k in range(width)
    ]
    edges = {(source, target) for job in jobs for source in job.inputs for target in job.outputs}
    return GraphPlan(
        domains=domains,
        layers=layers,
        width=width,
        jobs_per_step=jobs_per_step,
        jobs=jobs,
        datasets=datasets,
        edges=len(edges),
    )


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_event(job: GraphJob) -> dict[str, Any]:
    """A COMPLETE `RunEvent` as `openlineage.client.serde.Serde.to_dict` gives it (empty facets included)."""
    return {
        "eventTime": _iso_now(),
        "eventType": "COMPLETE",
        "inputs": [
            {"facets": {}, "inputFacets": {}, "name": name, "namespace": NAMESPACE} for name in job.inputs
        ],
        "job": {"facets": {}, "name": job.name, "namespace": JOB_NAMESPACE},
        "outputs": [
            {"facets": {}, "name": name, "namespace": NAMESPACE, "outputFacets": {}} for name in job.outputs
        ],
        "producer": PRODUCER,
        "run": {"facets": {}, "runId": str(uuid.uuid4())},
        "schemaURL": SCHEMA_URL,
    }


def build_events(plan: GraphPlan) -> list[tuple[bytes, bytes]]:
    """(key, value) of every job's event, keyed like the openlineage-python Kafka transport keys run events."""
    encoder = msgspec.json.Encoder(order="sorted")  # the client's `json.dumps(..., sort_keys=True)`
    return [(f"run:{JOB_NAMESPACE}/{job.name}".encode(), encoder.encode(run_event(job))) for job in plan.jobs]


# -- the gateway --------------------------------------------------------------------------------------------------


class _Listed(msgspec.Struct):
    """The two fields of an address or a pipeline the bench reads (the rest is skipped)."""

    id: int
    name: str


class _Answer(msgspec.Struct):
    """A lineage answer, its nodes and edges left undecoded: only their number is reported."""

    nodes: list[msgspec.Raw]
    edges: list[msgspec.Raw]
    truncated: bool = False


_listed = msgspec.json.Decoder(list[_Listed])
_answer = msgspec.json.Decoder(_Answer)


class _Gateway:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._session = session

    async def get(self, path: str) -> bytes:
        try:
            async with self._session.get(self._base + path) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise RequestFailed(f"HTTP {resp.status}", resp.status)
                return payload
        except aiohttp.ClientError as exc:
            raise RequestFailed(type(exc).__name__) from exc
        except TimeoutError as exc:
            raise RequestFailed("timeout") from exc

    async def ids_by_name(self, path: str) -> dict[str, int]:
        """`GET /address` or `GET /pipeline` as name → id."""
        return {row.name: row.id for row in _listed.decode(await self.get(path))}

    async def answer(self, path: str) -> _Answer:
        return _answer.decode(await self.get(path))


@contextlib.asynccontextmanager
async def _open_gateway(settings: BenchSettings) -> AsyncIterator[_Gateway]:
    async with settings.gateway_session(1) as session:
        yield _Gateway(settings.gateway_url, session)


# -- building -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    skipped: bool  # the graph was already there: nothing produced
    events: int  # RunEvents produced
    produce_seconds: float | None  # first send until the broker acknowledged the last event
    build_seconds: float | None  # first send until `GET /address` listed every dataset
    events_per_second: float | None  # events / build_seconds: the ingestion rate
    datasets_listed: int  # of the plan's datasets, how many `GET /address` listed at the end
    dead_lettered: int  # records mentioning `bench-lineage` that reached `ingress.lineage.dlq` meanwhile
    complete: bool  # every dataset listed before `event_timeout` passed without progress


@dataclass(frozen=True)
class RerunResult:
    """Known jobs running again: new runs of existing pipelines over existing addresses (the steady state)."""

    events: int
    recorded: int  # runs whose `execution.ended` came out
    seconds: float  # first send until the last `execution.ended`
    events_per_second: float


async def _rerun(settings: BenchSettings, plan: GraphPlan, count: int) -> RerunResult:
    """Send a new COMPLETE run for `count` jobs and time until every one's `execution.ended` is out."""
    events = build_events(dataclasses.replace(plan, jobs=plan.jobs[:count]))
    wanted = {msgspec.json.decode(value)["run"]["runId"] for _, value in events}
    seen: set[str] = set()
    last = 0.0
    finished = asyncio.Event()

    def on_record(topic: str, value: bytes, arrived: float) -> None:
        nonlocal last
        run_id = msgspec.json.decode(value).get("run_id")
        if run_id in wanted and run_id not in seen:
            seen.add(run_id)
            last = arrived
            if len(seen) == len(wanted):
                finished.set()

    topic = prefixed(settings.topic_prefix, LINEAGE_TOPIC)
    print(f"lineage: {len(events)} known jobs run again ...", file=sys.stderr, flush=True)
    async with TopicTail(
        settings.kafka_bootstrap, [prefixed(settings.topic_prefix, "execution.ended")], on_record
    ):
        began = time.perf_counter()
        await produce(settings, topic, events)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), settings.event_timeout * 10)
    seconds = (last or time.perf_counter()) - began
    return RerunResult(len(events), len(seen), seconds, len(seen) / seconds if seconds > 0 else 0.0)


def _listed_count(plan: GraphPlan, ids: dict[str, int]) -> int:
    return sum(address_name(d) in ids for d in plan.datasets)


async def _already_built(gateway: _Gateway, plan: GraphPlan, ids: dict[str, int]) -> bool:
    """The hub and the last job's outputs are listed, so is every other dataset, and the hub has lineage."""
    hub_id = ids.get(address_name(HUB))
    if hub_id is None or any(address_name(d) not in ids for d in plan.jobs[-1].outputs):
        return False
    if _listed_count(plan, ids) != len(plan.datasets):
        return False
    answer = await gateway.answer(f"/lineage/address/{hub_id}?direction=downstream&depth=1")
    return bool(answer.edges)


class _DeadLetters:
    def __init__(self) -> None:
        self.count = 0

    def on_record(self, topic: str, value: bytes, arrived: float) -> None:
        if JOB_NAMESPACE.encode() in value:
            self.count += 1


async def _wait_until_listed(
    gateway: _Gateway, plan: GraphPlan, no_progress_timeout: float
) -> tuple[dict[str, int], int, float | None]:
    """Poll `GET /address` until it lists every dataset of the plan: (name → id, listed, when complete)."""
    best, last_progress = -1, time.perf_counter()
    ids: dict[str, int] = {}
    while True:
        with contextlib.suppress(RequestFailed):  # a slow or failed poll is just no progress
            ids = await gateway.ids_by_name("/address")
        now = time.perf_counter()
        listed = _listed_count(plan, ids)
        if listed == len(plan.datasets):
            return ids, listed, now
        if listed > best:
            best, last_progress = listed, now
        elif now - last_progress > no_progress_timeout:
            return ids, listed, None
        print(f"lineage: {listed} of {len(plan.datasets)} datasets listed ...", file=sys.stderr, flush=True)
        await asyncio.sleep(POLL_INTERVAL)


async def _build(
    settings: BenchSettings, gateway: _Gateway, plan: GraphPlan
) -> tuple[BuildResult, dict[str, int]]:
    topic = prefixed(settings.topic_prefix, LINEAGE_TOPIC)
    events = build_events(plan)
    dead = _DeadLetters()
    print(f"lineage: producing {len(events)} RunEvents to {topic} ...", file=sys.stderr, flush=True)
    async with TopicTail(settings.kafka_bootstrap, [dlq_topic(topic)], dead.on_record):
        began = time.perf_counter()
        produced = await produce(settings, topic, events)
        ids, listed, done = await _wait_until_listed(gateway, plan, settings.event_timeout)
    build_seconds = done - began if done is not None else None
    return BuildResult(
        skipped=False,
        events=len(events),
        produce_seconds=produced - began,
        build_seconds=build_seconds,
        events_per_second=len(events) / build_seconds if build_seconds else None,
        datasets_listed=listed,
        dead_lettered=dead.count,
        complete=done is not None,
    ), ids


# -- querying -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryCase:
    case: str  # what is asked, e.g. "upstream of layer 25"
    path: str  # the request, `{id}` standing for the random address or pipeline
    latency: LatencySummary
    nodes_p50: float  # the answers' sizes
    nodes_max: int
    edges_p50: float
    edges_max: int
    truncated: int  # answers that stopped at the node limit
    errors: dict[str, int]  # by kind (`HTTP 404`, `timeout`, ...), measured requests only
    meets_target: bool  # p99 below `TARGET_P99_MS`


@dataclass(frozen=True)
class LineageResult:
    domains: int
    layers: int
    datasets_per_layer: int
    jobs: int
    datasets: int  # hub included
    edges: int  # distinct (source, target) dataset pairs the events declare
    depth: int
    target_p99_ms: float
    build: BuildResult
    cases: list[QueryCase]  # empty when the graph could not be built
    hub: QueryCase | None  # the worst case, apart
    rerun: RerunResult | None = None  # known jobs running again, after the queries


PathPick = Callable[[random.Random], str]


async def _run_case(
    gateway: _Gateway, case: str, path: str, pick: PathPick, requests: int, warmup: int, rng: random.Random
) -> QueryCase:
    latencies: list[float] = []
    nodes: list[int] = []
    edges: list[int] = []
    truncated = 0
    errors: Counter[str] = Counter()
    print(f"lineage: {case} ...", file=sys.stderr, flush=True)
    for i in range(warmup + requests):
        measured = i >= warmup
        try:
            request = pick(rng)
        except KeyError:
            errors["id not listed"] += measured
            continue
        began = time.perf_counter()
        try:
            body = await gateway.get(request)
        except RequestFailed as exc:
            errors[exc.kind] += measured
            await asyncio.sleep(ERROR_PAUSE)
            continue
        elapsed = time.perf_counter() - began
        if not measured:
            continue
        try:
            answer = _answer.decode(body)
        except msgspec.MsgspecError:
            errors["unexpected answer"] += 1
            continue
        latencies.append(elapsed)
        nodes.append(len(answer.nodes))
        edges.append(len(answer.edges))
        truncated += answer.truncated
    latency = LatencySummary.of_seconds(latencies)
    return QueryCase(
        case=case,
        path=path,
        latency=latency,
        nodes_p50=percentile(sorted(nodes), 50),
        nodes_max=max(nodes, default=0),
        edges_p50=percentile(sorted(edges), 50),
        edges_max=max(edges, default=0),
        truncated=truncated,
        errors={kind: n for kind, n in errors.items() if n},
        meets_target=latency.count > 0 and latency.p99_ms < TARGET_P99_MS,
    )


async def _query(
    settings: BenchSettings, gateway: _Gateway, plan: GraphPlan, address_ids: dict[str, int]
) -> tuple[list[QueryCase], QueryCase]:
    try:
        pipeline_ids = await gateway.ids_by_name("/pipeline")
    except RequestFailed as exc:
        raise LineageUnavailable(f"GET /pipeline failed ({exc.kind})") from exc
    depth = settings.lineage_depth
    middle = (plan.layers - 1) // 2

    def address(direction: str, layer: int) -> tuple[str, PathPick]:
        def pick(rng: random.Random) -> str:
            name = dataset_name(rng.randrange(plan.domains), layer, rng.randrange(plan.width))
            return f"/lineage/address/{address_ids[address_name(name)]}?direction={direction}&depth={depth}"

        return f"/lineage/address/{{id}}?direction={direction}&depth={depth}", pick

    def pipeline(rng: random.Random) -> str:
        job = plan.job(rng.randrange(plan.domains), middle, rng.randrange(plan.jobs_per_step))
        return f"/lineage/pipeline/{pipeline_ids[job.pipeline_name]}?depth={depth}"

    rng = random.Random(QUERY_SEED)
    cases: list[QueryCase] = []
    for case, (path, pick) in (
        (f"upstream of layer {plan.layers - 1}", address("upstream", plan.layers - 1)),
        ("downstream of layer 0", address("downstream", 0)),
        (f"both ways of layer {middle}", address("both", middle)),
        (f"job of step {middle}→{middle + 1}", (f"/lineage/pipeline/{{id}}?depth={depth}", pipeline)),
    ):
        cases.append(
            await _run_case(
                gateway, case, path, pick, settings.lineage_requests, settings.lineage_warmup_requests, rng
            )
        )
    hub_path = f"/lineage/address/{address_ids[address_name(HUB)]}?direction=downstream&depth={depth}"
    hub = await _run_case(
        gateway,
        f"downstream of the hub {HUB}",
        hub_path,
        lambda _: hub_path,
        settings.lineage_hub_requests,
        HUB_WARMUP,
        rng,
    )
    return cases, hub


async def measure_lineage(settings: BenchSettings) -> LineageResult:
    plan = generate_graph(settings.lineage_domains, settings.lineage_jobs_per_step)
    async with _open_gateway(settings) as gateway:
        try:
            ids = await gateway.ids_by_name("/address")
            built = await _already_built(gateway, plan, ids)
        except (RequestFailed, msgspec.MsgspecError) as exc:
            if isinstance(exc, RequestFailed) and exc.status == 401:
                raise LineageUnavailable(settings.rejected_token()) from exc
            kind = exc.kind if isinstance(exc, RequestFailed) else "unexpected answer"
            raise LineageUnavailable(
                f"cannot list addresses or query lineage at {settings.gateway_url} ({kind}): "
                "is the system up, with the lineage endpoints?"
            ) from exc
        if built:
            print("lineage: the graph is already there, not building it", file=sys.stderr, flush=True)
            build = BuildResult(
                skipped=True,
                events=0,
                produce_seconds=None,
                build_seconds=None,
                events_per_second=None,
                datasets_listed=len(plan.datasets),
                dead_lettered=0,
                complete=True,
            )
        else:
            build, ids = await _build(settings, gateway, plan)
        cases: list[QueryCase] = []
        hub: QueryCase | None = None
        rerun = None
        if build.complete:
            cases, hub = await _query(settings, gateway, plan, ids)
            rerun = await _rerun(settings, plan, min(RERUN_JOBS, len(plan.jobs)))
    return LineageResult(
        domains=plan.domains,
        layers=plan.layers,
        datasets_per_layer=plan.width,
        jobs=len(plan.jobs),
        datasets=len(plan.datasets),
        edges=plan.edges,
        depth=settings.lineage_depth,
        target_p99_ms=TARGET_P99_MS,
        build=build,
        cases=cases,
        hub=hub,
        rerun=rerun,
    )
