"""Subscribers of the scheduler: none. It only produces (through its outbox); `register_subscribers` is the hook
the worker calls, kept so a subscriber added later has its place."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from headwater.scheduler.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.scheduler.settings import Settings


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow_factory: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    """Subscribe nothing: the scheduler consumes no topic."""
