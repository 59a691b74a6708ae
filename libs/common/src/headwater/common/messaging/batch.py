"""Batches of Kafka messages: decode each, dead-letter what does not decode, record the rest together.

Every subscriber that consumes a batch goes through `IngressBatch.handle`, the one place where a message that
cannot be processed leaves its topic: a batch the use case keeps failing on (for a reason other than a database
that is away) is tried a bounded number of times, then split in halves, and each half recorded on its own, down
to the single message that fails alone; that one is dead-lettered to `<topic>.dlq` and the rest of the batch is
recorded. A batch is therefore never redelivered forever because of one message in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import Counter

from headwater.common.db.errors import is_transient
from headwater.common.errors import UseCaseError
from headwater.common.events import decode_event
from headwater.common.logging import get_logger
from headwater.common.messaging.dlq import dead_letter
from headwater.common.retry import retry

log = get_logger(__name__)

RETRIES = 5  # attempts while the database is away, before the batch is left to be redelivered
POISON_ATTEMPTS = 3  # attempts of a whole batch that fails for another reason, before it is split

SPLITS = Counter(
    "headwater_ingress_batch_splits_total",
    "Batches split in halves because recording them failed for a reason other than an unreachable database",
    ["consumer"],
)

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
        """Dead-letter what does not decode, record the rest (retrying while the database is away, splitting
        around a message that keeps failing), then dead-letter what the use case rejected or failed on alone.
        Offsets are committed by the caller only after this returns."""
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
        rejected = await self._record(list(range(len(valid))), valid, uow_factory, attempts=POISON_ATTEMPTS)
        for index, reason, error in rejected:
            self.counter.labels("dead_lettered").inc()
            with structlog.contextvars.bound_contextvars(event_id=self.event_id(valid[index])):
                await dead_letter(
                    producer, valid_records[index], consumer=self.consumer, reason=reason, error=error
                )
        self.counter.labels("recorded").inc(len(valid) - len(rejected))

    async def _record(
        self, indexes: list[int], valid: list[T], uow_factory: Callable[[], Any], *, attempts: int
    ) -> list[tuple[int, str, str]]:
        """Record the items at `indexes`; returns those to dead-letter as (index, reason, error).

        While the database is away the same items are retried (`RETRIES`), then the error propagates and the
        batch is redelivered: nothing is lost. Any other error is retried up to `attempts` in all; then the
        items are split in halves recorded one after the other (each once: what fails alone is the poison),
        and a single item that still fails is rejected with the error as its reason.
        """
        items = [valid[i] for i in indexes]
        transient = failures = 0

        def retryable(exc: Exception) -> bool:
            nonlocal transient, failures
            if is_transient(exc):
                transient += 1
                return transient < RETRIES
            failures += 1
            return failures < attempts

        try:
            rejected = await retry(
                lambda: self.record(uow_factory(), items),
                attempts=RETRIES + attempts,
                retry_if=retryable,
                event="ingress_batch_retry",
                consumer=self.consumer,
                size=len(items),
            )
        except Exception as exc:
            if is_transient(exc):
                raise  # the database is away: leave the batch to be redelivered
            if len(indexes) == 1:
                reason = exc.detail if isinstance(exc, UseCaseError) else repr(exc)
                if not isinstance(exc, UseCaseError):
                    log.error("ingress_message_failed", consumer=self.consumer, error=repr(exc)[:500])
                return [(indexes[0], reason, type(exc).__name__)]
            SPLITS.labels(self.consumer).inc()
            log.warning(
                "ingress_batch_split", consumer=self.consumer, size=len(indexes), error=repr(exc)[:500]
            )
            half = len(indexes) // 2
            first = await self._record(indexes[:half], valid, uow_factory, attempts=1)
            return first + await self._record(indexes[half:], valid, uow_factory, attempts=1)
        return [(indexes[r.index], r.reason, "Rejected") for r in rejected]
