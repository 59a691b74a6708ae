"""Subscribers of execution-tracking: each named for the reaction it performs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from headwater.common.contracts.openlineage import RunEvent, decode_run_event
from headwater.common.db.errors import is_transient
from headwater.common.events import RunReport, decode_run_report
from headwater.common.logging import get_logger
from headwater.common.messaging.broker import raw_body
from headwater.common.messaging.dlq import dead_letter
from headwater.common.messaging.topics import prefixed
from headwater.execution_tracking.service_layer.openlineage import record_run_events
from headwater.execution_tracking.service_layer.runs import CONSUMER, record_run_reports
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.execution_tracking.settings import Settings

log = get_logger(__name__)

REPORTS = Counter("headwater_ingress_run_reports_total", "Run reports consumed", ["outcome"])
LINEAGE_EVENTS = Counter(
    "headwater_ingress_lineage_events_total", "OpenLineage RunEvents consumed", ["outcome"]
)
LINEAGE_CONSUMER = "execution-tracking.ingress-lineage"

RETRIES = 5

T = TypeVar("T")


class _Rejected(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class IngressBatch(Generic[T]):
    """How one ingress topic's batches are handled: decode each message, record the valid ones together."""

    consumer: str  # the name dead letters carry
    counter: Counter
    decode: Callable[[bytes], T]
    record: Callable[[UnitOfWorkFactory, list[T]], Awaitable[Sequence[_Rejected]]]
    event_id: Callable[[T], str]  # what a dead letter's log line is about

    async def handle(
        self, records: Sequence[ConsumerRecord], uow: UnitOfWorkFactory, producer: AIOKafkaProducer
    ) -> None:
        """Dead-letter what does not decode, record the rest (retrying while the database is away), then
        dead-letter what the use case rejected. Offsets are committed by the caller only after this returns."""
        valid: list[T] = []
        valid_records: list[ConsumerRecord] = []
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
        attempt = 0
        while True:
            try:
                rejected = await self.record(uow, valid)
                break
            except Exception as exc:
                # Only a database that is away gets here (anything else is dead-lettered per message):
                # wait for it, then let the batch be redelivered rather than lose or skip it.
                attempt += 1
                if attempt >= RETRIES or not is_transient(exc):
                    raise
                log.warning("ingress_batch_retry", consumer=self.consumer, attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
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


RUN_REPORTS = IngressBatch[RunReport](
    consumer=CONSUMER,
    counter=REPORTS,
    decode=decode_run_report,
    record=record_run_reports,
    event_id=lambda report: report.run_id,
)
LINEAGE = IngressBatch[RunEvent](
    consumer=LINEAGE_CONSUMER,
    counter=LINEAGE_EVENTS,
    decode=decode_run_event,
    record=record_run_events,
    event_id=lambda event: str(event.run.runId),
)


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    batch: dict[str, Any] = {
        "group_id": settings.consumer_group,
        "batch": True,
        "batch_timeout_ms": 50,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "decoder": raw_body,
    }

    @broker.subscriber(
        prefixed(settings.topic_prefix, "ingress.runs"), max_records=settings.ingress_batch_size, **batch
    )
    async def on_run_reports_record_executions(body: list[bytes], message: KafkaMessage) -> None:
        """Validate a batch of run reports, dead-letter the invalid ones and record the rest in one transaction.

        The offsets are committed only after the transaction; a crash before it replays the batch, which the
        inbox turns into a no-op for every report already recorded.
        """
        await RUN_REPORTS.handle(message.raw_message, uow, producer)  # type: ignore[arg-type]

    @broker.subscriber(
        prefixed(settings.topic_prefix, "ingress.lineage"), max_records=settings.lineage_batch_size, **batch
    )
    async def on_lineage_events_record_runs(body: list[bytes], message: KafkaMessage) -> None:
        """Validate a batch of OpenLineage RunEvents, dead-letter the invalid ones and merge the rest.

        Offsets are committed after the transaction; merging is idempotent, so a replayed batch changes
        nothing that was already recorded.
        """
        await LINEAGE.handle(message.raw_message, uow, producer)  # type: ignore[arg-type]
