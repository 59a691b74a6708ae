"""The `ingress.runs` subscriber on FastStream's in-memory broker: valid reports are recorded, the rest
dead-lettered with the reason, without Postgres or Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

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

    monkeypatch.setattr(subscribers, "record_run_reports", record)
    return batches


async def test_valid_reports_are_recorded_and_the_rest_dead_lettered(
    recorded: list[list[RunStarted | RunEnded]],
) -> None:
    broker = KafkaBroker()
    producer = FakeProducer()
    subscribers.register_subscribers(broker, settings=Settings(), uow=None, producer=producer)  # type: ignore[arg-type]
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
