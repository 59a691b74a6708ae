"""The broker factory: a FastStream Kafka broker with telemetry, metrics and logging, and a raw producer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypedDict

from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy, Context
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from prometheus_client import REGISTRY, CollectorRegistry

from headwater.common.settings import CommonSettings


def create_broker(
    settings: CommonSettings, *, service: str, registry: CollectorRegistry = REGISTRY
) -> KafkaBroker:
    """A FastStream broker whose subscribers continue the producer's trace and report Prometheus metrics.

    Message bodies are decoded by the subscribers themselves with msgspec (`decode_event`): subscribers pass
    `decoder=raw_body`, and no serializer (pydantic) validates handler arguments. FastStream's per-message
    "Received"/"Processed" lines are logged at DEBUG.
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
        serializer=None,
        log_level=logging.DEBUG,
    )


async def raw_body(message: StreamMessage[Any]) -> Any:
    """A FastStream decoder that leaves bodies as bytes (a list of bytes for batch subscribers)."""
    return message.body


def create_producer(settings: CommonSettings, *, service: str) -> AIOKafkaProducer:
    """A raw producer for the outbox relay and dead letters: batched sends awaited together, acks from all."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"headwater-{service}-relay",
        acks="all",
        linger_ms=2,
    )


# What a subscriber handles, as aiokafka gave it: `async def on_x_do_y(records: Records)` for a batch subscription,
# `(record: Record)` for a single one; the decoding is the subscriber's (into the typed events of its topic).
Records = Annotated[tuple[ConsumerRecord[bytes, bytes], ...], Context("message.raw_message")]
Record = Annotated[ConsumerRecord[bytes, bytes], Context("message.raw_message")]


class BatchSubscription(TypedDict):
    """The keyword arguments of `broker.subscriber(...)` for a batch subscription (`batch` is literally True, so
    the type checker picks FastStream's batch overload)."""

    group_id: str
    batch: Literal[True]
    batch_timeout_ms: int
    max_records: int
    fetch_max_wait_ms: int
    auto_offset_reset: Literal["earliest"]
    ack_policy: AckPolicy
    decoder: Callable[[StreamMessage[Any]], Awaitable[Any]]


def batch_subscription(
    settings: CommonSettings, *, group_id: str, max_records: int, batch_timeout_ms: int = 50
) -> BatchSubscription:
    """How every service's subscribers consume: raw bytes in batches, from the earliest offset for a new group,
    with the short broker wait of `consumer_fetch_max_wait_ms`, offsets committed only after the handler
    returns (a failing batch is redelivered)."""
    return {
        "group_id": group_id,
        "batch": True,
        "batch_timeout_ms": batch_timeout_ms,
        "max_records": max_records,
        "fetch_max_wait_ms": settings.consumer_fetch_max_wait_ms,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "decoder": raw_body,
    }
