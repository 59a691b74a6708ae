"""Subscribers of quality-alerting: each named for the reaction it performs."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.quality_alerting.settings import Settings


def register_subscribers(
    broker: KafkaBroker, *, settings: Settings, uow: UnitOfWorkFactory, producer: AIOKafkaProducer
) -> None:
    """Nothing is subscribed yet."""
