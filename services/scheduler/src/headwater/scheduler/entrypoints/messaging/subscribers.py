"""Subscribers of the scheduler: each named for the reaction it performs."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from headwater.common.events import JobChanged
from headwater.common.messaging.batch import IngressBatch
from headwater.common.messaging.broker import Records, batch_subscription
from headwater.common.messaging.topics import prefixed
from headwater.scheduler.clock import Clock
from headwater.scheduler.service_layer import schedules
from headwater.scheduler.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory
from headwater.scheduler.settings import Settings

JOBS_CHANGED = Counter("headwater_scheduler_job_changed_total", "job.changed events consumed", ["outcome"])


def subscribers_of(clock: Clock) -> Any:
    """`register_subscribers` of the worker, bound to the clock that dates the schedules' next due times."""

    def register_subscribers(
        broker: KafkaBroker, *, settings: Settings, uow_factory: UnitOfWorkFactory, producer: AIOKafkaProducer
    ) -> None:
        async def apply(uow: UnitOfWork, events: list[JobChanged]) -> list[schedules.Rejected]:
            return await schedules.apply_job_changes(uow, events, clock())

        changed = IngressBatch[JobChanged].of_events(
            JobChanged, consumer=schedules.CONSUMER, counter=JOBS_CHANGED, record=apply
        )

        @broker.subscriber(
            prefixed(settings.topic_prefix, "job.changed"),
            **batch_subscription(settings, group_id=settings.consumer_group, max_records=100),
        )
        async def on_job_changed_keep_schedule(records: Records) -> None:
            """Add, reschedule, disable or remove the job's schedule; the schedule loop fires it when due."""
            await changed.handle(records, uow_factory, producer)

    return register_subscribers
