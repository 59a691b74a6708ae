"""The `ingress.runs` and `ingress.lineage` subscribers on FastStream's in-memory broker: valid reports are recorded, the rest
dead-lettered with the reason, without Postgres or Kafka."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from headwater.common.contracts.openlineage import RunEvent
from headwater.common.events import RunEnded, RunStarted
from headwater.execution_tracking.entrypoints.messaging import subscribers
from headwater.execution_tracking.service_layer.runs import Rejected
from headwater.execution_tracking.settings import Settings


@dataclass
class FakeProducer:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Any:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or ())})

        async def acknowledged() -> None:
            return None

        return acknowledged()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[list[RunStarted | RunEnded]]:
    batches: list[list[RunStarted | RunEnded]] = []

    async def record(uow: object, reports: list[RunStarted | RunEnded]) -> list[Rejected]:
        batches.append(list(reports))
        return [Rejected(i, "pipeline 9 not found") for i, r in enumerate(reports) if r.pipeline_id == 9]

    monkeypatch.setattr(
        subscribers, "RUN_REPORTS", dataclasses.replace(subscribers.RUN_REPORTS, record=record)
    )
    return batches


async def test_valid_reports_are_recorded_and_the_rest_dead_lettered(
    recorded: list[list[RunStarted | RunEnded]],
) -> None:
    broker = KafkaBroker()
    producer = FakeProducer()
    subscribers.register_subscribers(broker, settings=Settings(), uow=lambda: None, producer=producer)  # type: ignore[arg-type]
    good = msgspec.json.encode({"type": "run.started.v1", "run_id": "r1", "pipeline_id": 1})
    unknown = msgspec.json.encode({"type": "run.started.v1", "run_id": "r2", "pipeline_id": 9})
    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(good, b"{broken", unknown, topic="ingress.runs")

    assert [[r.run_id for r in batch] for batch in recorded] == [["r1", "r2"]]
    assert [m["value"] for m in producer.sent] == [b"{broken", unknown]
    assert {m["topic"] for m in producer.sent} == {"ingress.runs.dlq"}
    malformed, rejected = producer.sent
    assert (
        b"malformed" in malformed["headers"]["x-dlq-reason"].lower()
        or b"json" in malformed["headers"]["x-dlq-reason"].lower()
    )
    assert rejected["headers"]["x-dlq-reason"] == b"pipeline 9 not found"
    assert rejected["headers"]["x-dlq-original-topic"] == b"ingress.runs"


async def test_lineage_events_are_merged_and_the_rest_dead_lettered(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []

    async def record(uow: object, events: list[RunEvent]) -> list[Rejected]:
        batches.append([e.job.name for e in events])
        return [Rejected(i, "too long") for i, e in enumerate(events) if e.job.name == "bad"]

    monkeypatch.setattr(subscribers, "LINEAGE", dataclasses.replace(subscribers.LINEAGE, record=record))
    broker = KafkaBroker()
    producer = FakeProducer()
    subscribers.register_subscribers(broker, settings=Settings(), uow=lambda: None, producer=producer)  # type: ignore[arg-type]

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
