"""The `ingress.runs` and `ingress.lineage` subscribers on FastStream's in-memory broker: valid reports are recorded, the rest
dead-lettered with the reason, without Postgres or Kafka."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from headwater.common.contracts.openlineage import RunEvent
from headwater.common.events import ExecutionStarted
from headwater.common.testing import FakeProducer
from headwater.execution_tracking.entrypoints.messaging import subscribers
from headwater.execution_tracking.service_layer import pipelines
from headwater.execution_tracking.service_layer.runs import Rejected
from headwater.execution_tracking.settings import Settings
from headwater.execution_tracking.testing import FakeUnitOfWork, events_of


async def test_valid_reports_are_recorded_and_the_rest_dead_lettered() -> None:
    uow = FakeUnitOfWork()
    known = await pipelines.upsert_pipeline(uow, {"name": "known", "pipeline_type_name": "t"})
    broker = KafkaBroker()
    producer = FakeProducer()
    subscribers.register_subscribers(
        broker,
        settings=Settings(),
        uow_factory=lambda: uow,
        producer=producer,  # pyright: ignore[reportArgumentType]
    )
    good = msgspec.json.encode({"type": "run.started.v1", "run_id": "r1", "pipeline_id": known.id})
    unknown = msgspec.json.encode({"type": "run.started.v1", "run_id": "r2", "pipeline_id": 999})
    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(good, b"{broken", unknown, topic="ingress.runs")

    assert [e.run_id for e in events_of(uow.committed_events, ExecutionStarted)] == ["r1"]
    assert [e.run_id for e in uow.db.executions.values()] == ["r1"]
    assert [m["value"] for m in producer.sent] == [b"{broken", unknown]
    assert {m["topic"] for m in producer.sent} == {"ingress.runs.dlq"}
    malformed, rejected = producer.sent
    assert (
        b"malformed" in malformed["headers"]["x-dlq-reason"].lower()
        or b"json" in malformed["headers"]["x-dlq-reason"].lower()
    )
    assert rejected["headers"]["x-dlq-reason"] == b"pipeline 999 not found"
    assert rejected["headers"]["x-dlq-original-topic"] == b"ingress.runs"


async def test_lineage_events_are_merged_and_the_rest_dead_lettered(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []

    async def record(uow: object, events: list[RunEvent]) -> list[Rejected]:
        batches.append([e.job.name for e in events])
        return [Rejected(i, "too long") for i, e in enumerate(events) if e.job.name == "bad"]

    monkeypatch.setattr(subscribers, "LINEAGE", dataclasses.replace(subscribers.LINEAGE, record=record))
    broker = KafkaBroker()
    producer = FakeProducer()
    subscribers.register_subscribers(
        broker,
        settings=Settings(),
        uow_factory=FakeUnitOfWork,
        producer=producer,  # pyright: ignore[reportArgumentType]
    )

    def event(job: str) -> bytes:
        return msgspec.json.encode(
            {
                "eventType": "START",
                "eventTime": "2024-01-01T00:00:00Z",
                "run": {"runId": "0b8d5a6e-0000-4000-8000-000000000001"},
                "job": {"namespace": "ns", "name": job},
            }
        )

    job_event = b'{"eventTime": "2024-01-01T00:00:00Z", "job": {"namespace": "ns", "name": "j"}}'
    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(event("good"), job_event, event("bad"), topic="ingress.lineage")

    assert batches == [["good", "bad"]]
    assert [m["value"] for m in producer.sent] == [job_event, event("bad")]
    assert {m["topic"] for m in producer.sent} == {"ingress.lineage.dlq"}
    assert b"only OpenLineage RunEvents" in producer.sent[0]["headers"]["x-dlq-reason"]
    assert producer.sent[1]["headers"]["x-dlq-reason"] == b"too long"
