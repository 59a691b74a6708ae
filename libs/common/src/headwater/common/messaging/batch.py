"""Batches of Kafka messages: decode each, dead-letter what does not decode, record the rest together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import Counter

from headwater.common.db.errors import is_transient
from headwater.common.events import decode_event
from headwater.common.logging import get_logger
from headwater.common.messaging.dlq import dead_letter
from headwater.common.retry import retry

log = get_logger(__name__)

RETRIES = 5

T = TypeVar("T")


class _Rejected(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def reason(self) -> str: ...


def _event_id(event: Any) -> str:
    return str(event.event_id)


@dataclass(frozen=True)
class IngressBatch(Generic[T]):
    """How one topic's batches are handled: decode each message, record the valid ones together.

    `record(uow, items)` (a fresh unit of work per attempt) returns the items it rejected (by index), which are dead-lettered too.
    """

    consumer: str  # the name dead letters carry
    counter: Counter
    decode: Callable[[bytes], T]
    record: Callable[[Any, list[T]], Awaitable[Sequence[_Rejected]]]
    event_id: Callable[[T], str]  # what a dead letter's log line is about

    @classmethod
    def of_events(
        cls,
        event_type: Any,
        *,
        consumer: str,
        counter: Counter,
        record: Callable[[Any, list[T]], Awaitable[Sequence[_Rejected]]],
    ) -> Self:
        """The batch of a Headwater event type (or a union of them): each message decoded by `decode_event`,
        a dead letter's log line about the event's `event_id`."""
        return cls(
            consumer=consumer,
            counter=counter,
            decode=lambda body: decode_event(body, event_type),
            record=record,
            event_id=_event_id,
        )

    async def handle(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        uow_factory: Callable[[], Any],
        producer: AIOKafkaProducer,
    ) -> None:
        """Dead-letter what does not decode, record the rest (retrying while the database is away), then
        dead-letter what the use case rejected. Offsets are committed by the caller only after this returns."""
        valid: list[T] = []
        valid_records: list[ConsumerRecord[bytes, bytes]] = []
        for record in records:
            try:
                valid.append(self.decode(record.value or b""))
                valid_records.append(record)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                self.counter.labels("dead_lettered").inc()
                await dead_letter(
                    producer, record, consumer=self.consumer, reason=str(exc), error=type(exc).__name__
                )
        if not valid:
            return
        # Only a database that is away makes `record` raise (anything else is dead-lettered per message): wait
        # for it, then let the batch be redelivered rather than lose or skip it.
        rejected = await retry(
            lambda: self.record(uow_factory(), valid),
            attempts=RETRIES,
            retry_if=is_transient,
            event="ingress_batch_retry",
            consumer=self.consumer,
        )
        for item in rejected:
            self.counter.labels("dead_lettered").inc()
            with structlog.contextvars.bound_contextvars(event_id=self.event_id(valid[item.index])):
                await dead_letter(
                    producer,
                    valid_records[item.index],
                    consumer=self.consumer,
                    reason=item.reason,
                    error="Rejected",
                )
        self.counter.labels("recorded").inc(len(valid) - len(rejected))
