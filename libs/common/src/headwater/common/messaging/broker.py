"""The broker factory: a FastStream Kafka broker with telemetry, metrics and logging, and a raw producer."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY, CollectorRegistry

from headwater.common.settings import CommonSettings


def create_broker(
    settings: CommonSettings, *, service: str, registry: CollectorRegistry = REGISTRY
) -> KafkaBroker:
    """A FastStream broker whose subscribers continue the producer's trace and report Prometheus metrics.

    Message bodies are decoded by the subscribers themselves with msgspec (`decode_event`), so FastStream
    hands them raw records and no pydantic model is involved.
    """
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"headwater-{service}",
        middlewares=(
            KafkaTelemetryMiddleware(),
            KafkaPrometheusMiddleware(registry=registry, app_name=f"headwater-{service}"),
        ),
        logger=logging.getLogger(f"headwater.{service}.broker"),
        acks="all",
    )


def create_producer(settings: CommonSettings, *, service: str) -> AIOKafkaProducer:
    """A raw producer for the outbox relay and dead letters: batched sends awaited together, acks from all."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"headwater-{service}-relay",
        acks="all",
        linger_ms=2,
    )
