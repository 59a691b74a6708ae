"""Dead letters: a message that cannot be processed goes to `<topic>.dlq` with the reason in its headers."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from prometheus_client import Counter

from headwater.common.logging import get_logger
from headwater.common.messaging.topics import dlq_topic

log = get_logger(__name__)

DEAD_LETTERS = Counter(
    "headwater_dead_letters_total", "Messages sent to a dead-letter topic", ["topic", "consumer"]
)


class Record(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


class Producer(Protocol):
    """What a dead letter needs of a producer (AIOKafkaProducer, or a fake in tests)."""

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...


async def dead_letter(producer: Producer, record: Record, *, consumer: str, reason: str, error: str) -> None:
    """Publish `record` unchanged to its DLQ topic, with why and where it failed in `x-dlq-*` headers."""
    headers = [*(record.headers or ()), *dlq_headers(record, consumer=consumer, reason=reason, error=error)]
    fut = await producer.send(dlq_topic(record.topic), value=record.value, key=record.key, headers=headers)
    await fut
    DEAD_LETTERS.labels(record.topic, consumer).inc()
    log.warning(
        "message_dead_lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        consumer=consumer,
        reason=reason[:500],
    )


def dlq_headers(record: Record, *, consumer: str, reason: str, error: str) -> list[tuple[str, bytes]]:
    return [
        ("x-dlq-reason", reason[:4000].encode()),
        ("x-dlq-error", error.encode()),
        ("x-dlq-consumer", consumer.encode()),
        ("x-dlq-original-topic", record.topic.encode()),
        ("x-dlq-original-partition", str(record.partition).encode()),
        ("x-dlq-original-offset", str(record.offset).encode()),
    ]
