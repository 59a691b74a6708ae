"""A producer's view: run reports published to `ingress.runs` become tracked runs; bad ones are dead-lettered."""

from __future__ import annotations

import uuid

import httpx
import msgspec
import pytest

from headwater.common.testing import TopicCollector, produce
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


def report(kind: str, **fields: object) -> bytes:
    return msgspec.json.encode({"type": f"run.{kind}.v1", **fields})


async def test_reports_become_runs_and_resends_are_harmless(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    pipeline = f"kafka pipeline {uuid.uuid4().hex[:8]}"
    run, child = f"run-{uuid.uuid4()}", f"run-{uuid.uuid4()}"
    key = pipeline.encode()
    started = report(
        "started",
        run_id=run,
        pipeline_name=pipeline.upper(),
        pipeline_type_name="Streaming",
        start_date="2024-05-01T12:00:00Z",
        next_watermark=42,
    )
    child_started = report(
        "started", run_id=child, pipeline_name=pipeline, parent_run_id=run, start_date="2024-05-01T12:00:10Z"
    )
    ended = report(
        "ended",
        run_id=run,
        pipeline_name=pipeline,
        end_date="2024-05-01T12:01:40Z",
        completed_successfully=True,
        total_rows=500,
        inserts=500,
    )
    sentinel = report(
        "started",
        run_id=f"sentinel-{uuid.uuid4()}",
        pipeline_name=pipeline,
        start_date="2024-05-01T13:00:00Z",
    )
    # every report twice, the end before the resent start: the outcome is the same as sending each once
    await produce(
        system.kafka_bootstrap,
        "ingress.runs",
        [(key, started), (key, child_started), (key, ended), (key, started), (key, ended), (key, sentinel)],
    )

    (end_event,) = await events.wait_for(lambda m: m.topic == "execution.ended" and m.json()["run_id"] == run)
    e = end_event.json()
    assert (e["duration_seconds"], e["throughput"], e["completed_successfully"]) == (100, 5.0, True)
    await events.wait_for(
        lambda m: m.topic == "execution.started" and (m.json()["run_id"] or "").startswith("sentinel-")
    )
    # the sentinel came after the duplicates on the same partition, so they have all been consumed by now
    assert (
        len([m for m in events.messages if m.topic == "execution.started" and m.json()["run_id"] == run]) == 1
    )
    assert (
        len([m for m in events.messages if m.topic == "execution.ended" and m.json()["run_id"] == run]) == 1
    )

    execution = (await gateway.get(f"/pipeline_execution/{e['execution_id']}")).json()
    assert execution["total_rows"] == 500
    assert execution["next_watermark"] == "42"
    assert [c["id"] for c in execution["child_executions"]] == [
        m.json()["execution_id"]
        for m in events.messages
        if m.topic == "execution.started" and m.json()["run_id"] == child
    ]
    pipe = (await gateway.get(f"/pipeline/{e['pipeline_id']}")).json()
    assert pipe["name"] == pipeline
    assert pipe["watermark"] is None  # the pipeline's own next_watermark (unset) is what a success moves to
    assert pipe["load_lineage"] is False
    assert pipe["last_target_insert"] == "2024-05-01T12:01:40Z"


async def test_invalid_reports_go_to_the_dead_letter_topic_with_the_reason(
    system: Stack, events: TopicCollector
) -> None:
    dlq = await TopicCollector(system.kafka_bootstrap, ["ingress.runs.dlq"]).start()
    try:
        marker = uuid.uuid4().hex
        bad = [
            (b"k1", b"{not json " + marker.encode()),
            (b"k2", report("started", run_id=f"{marker}-no-pipeline")),
            (b"k3", report("started", run_id=f"{marker}-unknown", pipeline_id=999999999)),
            (
                b"k4",
                report(
                    "ended",
                    run_id=f"{marker}-never-started",
                    pipeline_name=f"p {marker}",
                    pipeline_type_name="t",
                    end_date="2024-01-01T00:00:00Z",
                    completed_successfully=True,
                ),
            ),
        ]
        good = report("started", run_id=f"{marker}-good", pipeline_name=f"p {marker}", pipeline_type_name="t")
        await produce(system.kafka_bootstrap, "ingress.runs", [*bad, (b"k5", good)])
        dead = await dlq.wait_for(lambda m: marker.encode() in m.value, count=4)
        reasons = {m.key: m.headers["x-dlq-reason"].decode() for m in dead}
        assert "malformed" in reasons[b"k1"].lower() or "json" in reasons[b"k1"].lower()
        assert "pipeline_id" in reasons[b"k2"]
        assert "pipeline 999999999 not found" in reasons[b"k3"]
        assert "never started" in reasons[b"k4"]
        assert all(m.headers["x-dlq-original-topic"] == b"ingress.runs" for m in dead)
        assert {m.value for m in dead} == {v for _, v in bad}  # dead letters keep the original message
        await events.wait_for(
            lambda m: m.topic == "execution.started" and m.json()["run_id"] == f"{marker}-good"
        )
    finally:
        await dlq.stop()
