"""Subscribers of scheduler: each named for the reaction it performs."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from headwater.scheduler.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.scheduler.settings import Settings


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    """Nothing is subscribed yet."""
