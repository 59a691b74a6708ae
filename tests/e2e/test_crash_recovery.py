"""Killing execution-tracking with SIGKILL mid-stream loses no accepted run and no outbox event."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict

import httpx
import msgspec
import pytest

from headwater.common.testing import TopicCollector, produce
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

SERVICE = "execution-tracking"


async def kill_and_restart(stack: Stack, roles: tuple[str, ...], down_for: float = 1.0) -> None:
    stack.stop_service(SERVICE, roles, kill=True)  # SIGKILL to the whole process group
    await asyncio.sleep(down_for)
    stack.start_service(SERVICE, roles)
    await asyncio.to_thread(stack.wait_ready, 60)


async def test_sigkill_during_a_stream_of_http_runs(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    pid = (
        await gateway.post(
            "/pipeline", json={"name": f"crash {uuid.uuid4().hex[:8]}", "pipeline_type_name": "t"}
        )
    ).json()["id"]
    accepted_starts: list[int] = []
    accepted_ends: list[int] = []
    failures = 0
    stop_at = time.monotonic() + 8

    async def client() -> None:
        nonlocal failures
        while time.monotonic() < stop_at:
            try:
                r = await gateway.post("/start_pipeline_execution", json={"pipeline_id": pid})
                if r.status_code != 201:
                    failures += 1
                    await asyncio.sleep(0.05)
                    continue
                eid = r.json()["id"]
                accepted_starts.append(eid)
                while time.monotonic() < stop_at + 30:  # an end is retried until it is accepted
                    r = await gateway.post(
                        "/end_pipeline_execution",
                        json={
                            "id": eid,
                            "end_date": "2099-01-01T00:00:00Z",
                            "completed_successfully": True,
                            "total_rows": 10,
                        },
                    )
                    if r.status_code == 204:
                        accepted_ends.append(eid)
                        break
                    failures += 1
                    await asyncio.sleep(0.05)
            except httpx.TransportError:
                failures += 1
                await asyncio.sleep(0.05)

    async def chaos() -> None:
        await asyncio.sleep(2.5)
        await kill_and_restart(system, ("serve", "worker"))

    await asyncio.gather(*(client() for _ in range(8)), chaos())
    assert failures > 0, "the kill happened while requests were flowing"
    assert len(accepted_ends) > 50
    assert set(accepted_ends) == set(accepted_starts)

    for eid in accepted_starts:  # every accepted run is stored, with its end
        run = (await gateway.get(f"/pipeline_execution/{eid}")).json()
        assert run["end_date"] == "2099-01-01T00:00:00Z", run
    wanted = set(accepted_ends)  # and every accepted end's event reaches Kafka, eventually
    await events.wait_for(
        lambda m: m.topic == "execution.ended" and m.json()["execution_id"] in wanted,
        count=len(wanted),
        timeout=60,
        distinct=lambda m: m.json()["execution_id"],
    )
    ended = {m.json()["execution_id"] for m in events.messages if m.topic == "execution.ended"}
    started = {m.json()["execution_id"] for m in events.messages if m.topic == "execution.started"}
    assert wanted <= ended
    assert set(accepted_starts) <= started


async def test_sigkill_of_the_worker_while_it_consumes_run_reports(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    batch = uuid.uuid4().hex[:8]
    runs = 3000
    pipelines = [f"stream {batch} {n}" for n in range(6)]
    messages: list[tuple[bytes | None, bytes]] = []
    for n in range(runs):
        name = pipelines[n % len(pipelines)]
        run_id = f"{batch}-{n}"
        messages.append(
            (
                name.encode(),
                msgspec.json.encode(
                    {
                        "type": "run.started.v1",
                        "run_id": run_id,
                        "pipeline_name": name,
                        "pipeline_type_name": "stream",
                        "start_date": "2024-06-01T00:00:00Z",
                    }
                ),
            )
        )
        messages.append(
            (
                name.encode(),
                msgspec.json.encode(
                    {
                        "type": "run.ended.v1",
                        "run_id": run_id,
                        "pipeline_name": name,
                        "end_date": "2024-06-01T00:00:07Z",
                        "completed_successfully": True,
                        "total_rows": n,
                    }
                ),
            )
        )
    half = len(messages) // 2

    def ours(m: object) -> bool:
        return m.topic == "execution.ended" and str(m.json().get("run_id", "")).startswith(f"{batch}-")  # type: ignore[attr-defined]

    await produce(system.kafka_bootstrap, "ingress.runs", messages[:half])
    # SIGKILL as soon as the first runs come out: the first 3,000 reports are still being worked through, so it dies
    # with batches consumed but not committed, and the second half of the stream arrives while it is down
    await events.wait_for(ours, count=50, timeout=60)
    system.stop_service(SERVICE, ("worker",), kill=True)
    await produce(system.kafka_bootstrap, "ingress.runs", messages[half:])  # the stream goes on meanwhile
    system.start_service(SERVICE, ("worker",))
    # distinct runs: the redelivered batch republishes some events, which must not count twice
    await events.wait_for(ours, count=runs, timeout=120, distinct=lambda m: m.json()["run_id"])

    executions_per_run: dict[str, set[int]] = defaultdict(set)
    for m in events.messages:
        if m.topic in ("execution.started", "execution.ended"):
            body = m.json()
            if str(body.get("run_id", "")).startswith(f"{batch}-"):
                executions_per_run[body["run_id"]].add(body["execution_id"])
    assert len(executions_per_run) == runs
    duplicated = {r: ids for r, ids in executions_per_run.items() if len(ids) != 1}
    assert not duplicated, f"runs recorded more than once: {list(duplicated.items())[:5]}"
    sample = next(iter(executions_per_run[f"{batch}-7"]))
    run = (await gateway.get(f"/pipeline_execution/{sample}")).json()
    assert (run["duration_seconds"], run["total_rows"], run["throughput"]) == (7, 7, 1.0)


async def test_sigkill_of_the_worker_while_it_consumes_openlineage_events(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    batch = uuid.uuid4().hex[:8]
    runs, jobs = 400, 4
    messages: list[tuple[bytes | None, bytes]] = []
    run_ids = [str(uuid.uuid4()) for _ in range(runs)]
    for n, run_id in enumerate(run_ids):
        job = f"job-{batch}-{n % jobs}"
        common = {
            "run": {"runId": run_id},
            "job": {"namespace": "crash", "name": job},
            "producer": "test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        source = {"namespace": "postgres://db:5432", "name": f"src.{batch}.t{n % 3}"}
        target = {
            "namespace": "s3://lake",
            "name": f"{job}/out",
            "outputFacets": {"outputStatistics": {"rowCount": n}},
        }
        start, end = (
            f"2024-06-01T00:{n // 60:02d}:{n % 60:02d}Z",
            f"2024-06-01T01:{n // 60:02d}:{n % 60:02d}Z",
        )
        key = f"run:crash/{job}".encode()
        messages.append(
            (
                key,
                msgspec.json.encode({**common, "eventType": "START", "eventTime": start, "inputs": [source]}),
            )
        )
        messages.append(
            (
                key,
                msgspec.json.encode(
                    {**common, "eventType": "COMPLETE", "eventTime": end, "outputs": [target]}
                ),
            )
        )
    half = len(messages) // 2
    ours = set(run_ids)

    def ended(m: object) -> bool:
        return m.topic == "execution.ended" and m.json().get("run_id") in ours  # type: ignore[attr-defined]

    await produce(system.kafka_bootstrap, "ingress.lineage", messages[:half])
    await events.wait_for(ended, count=20, timeout=60)
    system.stop_service(SERVICE, ("worker",), kill=True)
    await produce(system.kafka_bootstrap, "ingress.lineage", messages[half:])  # the stream goes on meanwhile
    system.start_service(SERVICE, ("worker",))
    await events.wait_for(lambda m: ended(m) and m.json()["run_id"] == run_ids[-1], timeout=180)
    done = await events.wait_for(ended, count=runs, timeout=180, distinct=lambda m: m.json()["run_id"])

    executions_per_run: dict[str, set[int]] = defaultdict(set)
    for m in events.messages:
        if m.topic in ("execution.started", "execution.ended") and m.json().get("run_id") in ours:
            executions_per_run[m.json()["run_id"]].add(m.json()["execution_id"])
    assert len(executions_per_run) == runs
    duplicated = {r: ids for r, ids in executions_per_run.items() if len(ids) != 1}
    assert not duplicated, f"runs recorded more than once: {list(duplicated.items())[:5]}"
    last = {m.json()["run_id"]: m.json() for m in done}[run_ids[-1]]
    assert (last["duration_seconds"], last["total_rows"]) == (3600, runs - 1)
    # each job's edges are its latest run's: that run read t{n % 3}
    graph = (await gateway.get(f"/lineage/pipeline/{last['pipeline_id']}", params={"depth": 0})).json()
    names = {n["id"]: n["name"] for n in graph["nodes"]}
    assert [(names[e["source_address_id"]], names[e["target_address_id"]]) for e in graph["edges"]] == [
        (
            f"postgres://db:5432/src.{batch}.t{(runs - 1) % 3}",
            f"s3://lake/job-{batch}-{(runs - 1) % jobs}/out",
        )
    ]
