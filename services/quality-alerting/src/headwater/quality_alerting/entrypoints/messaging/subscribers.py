"""Subscribers of quality-alerting: each named for the reaction it performs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from headwater.common.messaging.batch import IngressBatch
from headwater.common.messaging.broker import BatchSubscription, Records, batch_subscription
from headwater.common.messaging.topics import prefixed
from headwater.quality_alerting.entrypoints.messaging.check_subscribers import register_check_subscribers
from headwater.quality_alerting.service_layer import ingestion, retention
from headwater.quality_alerting.service_layer.facts import CONSUMER, Fact, apply_facts
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory
from headwater.quality_alerting.settings import Settings

FACTS = Counter(
    "headwater_execution_facts_total", "pipeline.changed / execution.* events applied", ["outcome"]
)

INGESTION_FACTS = Counter(
    "headwater_ingestion_facts_total", "file.ingested / rows.quarantined events consumed", ["outcome"]
)


async def _apply(uow: UnitOfWork, facts: list[Fact]) -> Sequence[Any]:
    await apply_facts(uow, facts)
    return []  # every decodable fact is applied


async def _alert_on_ingestion(uow: UnitOfWork, events: list[ingestion.IngestionFact]) -> Sequence[Any]:
    await ingestion.alert_on_ingestion(uow, events)
    return []  # every decodable event is recorded


EXECUTION_FACTS = IngressBatch[Fact].of_events(Fact, consumer=CONSUMER, counter=FACTS, record=_apply)
INGESTION_EVENTS = IngressBatch[ingestion.IngestionFact].of_events(
    ingestion.IngestionFact, consumer=ingestion.CONSUMER, counter=INGESTION_FACTS, record=_alert_on_ingestion
)
RETENTION = retention.RETENTION.requests_batch("quality-alerting.retention")


def batch_options(settings: Settings, max_records: int) -> BatchSubscription:
    return batch_subscription(
        settings, group_id=settings.consumer_group, max_records=max_records, batch_timeout_ms=20
    )


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow_factory: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    @broker.subscriber(
        prefixed(settings.topic_prefix, "pipeline.changed"),
        prefixed(settings.topic_prefix, "execution.started"),
        prefixed(settings.topic_prefix, "execution.ended"),
        **batch_options(settings, settings.events_batch_size),
    )
    async def on_execution_facts_detect_anomalies(records: Records) -> None:
        """Keep the copies of pipeline settings and execution metrics, and run anomaly detection on every
        successful end, in one transaction per batch; offsets are committed after it (the inbox makes a
        replayed batch a no-op)."""
        await EXECUTION_FACTS.handle(records, uow_factory, producer)

    @broker.subscriber(
        prefixed(settings.topic_prefix, "file.ingested"),
        prefixed(settings.topic_prefix, "rows.quarantined"),
        **batch_options(settings, settings.events_batch_size),
    )
    async def on_ingestion_facts_raise_alerts(records: Records) -> None:
        """Raise the alerts of quarantined rows and the alert and fatal error of a failed file, in one
        transaction per batch; offsets are committed after it (the inbox makes a replayed batch a no-op)."""
        await INGESTION_EVENTS.handle(records, uow_factory, producer)

    @broker.subscriber(prefixed(settings.topic_prefix, "retention.requested"), **batch_options(settings, 10))
    async def on_retention_requested_delete_old_data(records: Records) -> None:
        """The daily retention schedule: old results, logs, metric copies and resolved alerts are deleted."""
        await RETENTION.handle(records, uow_factory, producer)

    register_check_subscribers(broker, settings=settings, uow_factory=uow_factory, producer=producer)
