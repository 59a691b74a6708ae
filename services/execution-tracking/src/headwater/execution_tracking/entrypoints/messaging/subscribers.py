"""Subscribers of execution-tracking: each named for the reaction it performs."""

from __future__ import annotations

import asyncio

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from headwater.common.contracts.openlineage import RunEvent, decode_run_event
from headwater.common.db.errors import is_transient
from headwater.common.events import decode_run_report
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


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    @broker.subscriber(
        prefixed(settings.topic_prefix, "ingress.runs"),
        group_id=settings.consumer_group,
        batch=True,
        max_records=settings.ingress_batch_size,
        batch_timeout_ms=50,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )
    async def on_run_reports_record_executions(body: list[bytes], message: KafkaMessage) -> None:
        """Validate a batch of run reports, dead-letter the invalid ones and record the rest in one transaction.

        The offsets are committed only after the transaction; a crash before it replays the batch, which the
        inbox turns into a no-op for every report already recorded.
        """
        records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
        valid, valid_records = [], []
        for record in records:
            try:
                valid.append(decode_run_report(record.value or b""))
                valid_records.append(record)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                REPORTS.labels("dead_lettered").inc()
                await dead_letter(
                    producer, record, consumer=CONSUMER, reason=str(exc), error=type(exc).__name__
                )
        if not valid:
            return
        attempt = 0
        while True:
            try:
                rejected = await record_run_reports(uow, valid)
                break
            except Exception as exc:
                # Only a database that is away gets here (anything else is dead-lettered per report):
                # wait for it, then let the batch be redelivered rather than lose or skip it.
                attempt += 1
                if attempt >= RETRIES or not is_transient(exc):
                    raise
                log.warning("run_reports_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        for item in rejected:
            REPORTS.labels("dead_lettered").inc()
            record = valid_records[item.index]
            with structlog.contextvars.bound_contextvars(event_id=valid[item.index].run_id):
                await dead_letter(producer, record, consumer=CONSUMER, reason=item.reason, error="Rejected")
        REPORTS.labels("recorded").inc(len(valid) - len(rejected))

    @broker.subscriber(
        prefixed(settings.topic_prefix, "ingress.lineage"),
        group_id=settings.consumer_group,
        batch=True,
        max_records=settings.lineage_batch_size,
        batch_timeout_ms=50,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )
    async def on_lineage_events_record_runs(body: list[bytes], message: KafkaMessage) -> None:
        """Validate a batch of OpenLineage RunEvents, dead-letter the invalid ones and merge the rest.

        Offsets are committed after the transaction; merging is idempotent, so a replayed batch changes
        nothing that was already recorded.
        """
        records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
        valid: list[RunEvent] = []
        valid_records: list[ConsumerRecord] = []
        for record in records:
            try:
                valid.append(decode_run_event(record.value or b""))
                valid_records.append(record)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                LINEAGE_EVENTS.labels("dead_lettered").inc()
                await dead_letter(
                    producer, record, consumer=LINEAGE_CONSUMER, reason=str(exc), error=type(exc).__name__
                )
        if not valid:
            return
        attempt = 0
        while True:
            try:
                rejected = await record_run_events(uow, valid)
                break
            except Exception as exc:
                attempt += 1
                if attempt >= RETRIES or not is_transient(exc):
                    raise
                log.warning("lineage_events_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        for item in rejected:
            LINEAGE_EVENTS.labels("dead_lettered").inc()
            with structlog.contextvars.bound_contextvars(event_id=str(valid[item.index].run.runId)):
                await dead_letter(
                    producer,
                    valid_records[item.index],
                    consumer=LINEAGE_CONSUMER,
                    reason=item.reason,
                    error="Rejected",
                )
        LINEAGE_EVENTS.labels("recorded").inc(len(valid) - len(rejected))
