"""Subscribers of execution-tracking: each named for the reaction it performs."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from headwater.common.contracts.openlineage import RunEvent, decode_run_event
from headwater.common.events import RunReport, decode_run_report
from headwater.common.logging import get_logger
from headwater.common.messaging.batch import IngressBatch
from headwater.common.messaging.broker import BatchSubscription, Records, batch_subscription
from headwater.common.messaging.topics import prefixed
from headwater.execution_tracking.service_layer import retention
from headwater.execution_tracking.service_layer.anomaly_flags import AnomalyVerdict, apply_anomaly_verdicts
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
VERDICTS = Counter("headwater_anomaly_verdicts_total", "anomaly.detected/cleared events applied", ["outcome"])

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

ANOMALY_VERDICTS = IngressBatch[AnomalyVerdict].of_events(
    AnomalyVerdict,
    consumer="execution-tracking.anomaly-flags",
    counter=VERDICTS,
    record=apply_anomaly_verdicts,
)
RETENTION = retention.RETENTION.requests_batch("execution-tracking.retention")


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow_factory: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    def batch(max_records: int) -> BatchSubscription:
        return batch_subscription(settings, group_id=settings.consumer_group, max_records=max_records)

    @broker.subscriber(prefixed(settings.topic_prefix, "ingress.runs"), **batch(settings.ingress_batch_size))
    async def on_run_reports_record_executions(records: Records) -> None:
        """Validate a batch of run reports, dead-letter the invalid ones and record the rest in one transaction.

        The offsets are committed only after the transaction; a crash before it replays the batch, which the
        inbox turns into a no-op for every report already recorded.
        """
        await RUN_REPORTS.handle(records, uow_factory, producer)

    @broker.subscriber(
        prefixed(settings.topic_prefix, "ingress.lineage"), **batch(settings.lineage_batch_size)
    )
    async def on_lineage_events_record_runs(records: Records) -> None:
        """Validate a batch of OpenLineage RunEvents, dead-letter the invalid ones and merge the rest.

        Offsets are committed after the transaction; merging is idempotent, so a replayed batch changes
        nothing that was already recorded.
        """
        await LINEAGE.handle(records, uow_factory, producer)

    @broker.subscriber(
        prefixed(settings.topic_prefix, "anomaly.detected"),
        prefixed(settings.topic_prefix, "anomaly.cleared"),
        **batch(500),
    )
    async def on_anomaly_verdicts_set_flags(records: Records) -> None:
        """quality-alerting's verdicts become the executions' `anomaly_flags` (what GET /pipeline_execution shows)."""
        await ANOMALY_VERDICTS.handle(records, uow_factory, producer)

    @broker.subscriber(prefixed(settings.topic_prefix, "retention.requested"), **batch(10))
    async def on_retention_requested_delete_old_runs(records: Records) -> None:
        """The daily retention schedule: old runs are deleted in committed batches, children first."""
        await RETENTION.handle(records, uow_factory, producer)
