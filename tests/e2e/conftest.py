"""End-to-end fixtures: the whole system running as processes, reached only through the gateway and Kafka."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka.errors import KafkaError

from headwater.common.testing import TopicCollector
from headwater.devstack.stack import Stack

CANONICAL = [
    "pipeline.changed",
    "execution.started",
    "execution.ended",
    "lineage.changed",
    "anomaly.detected",
    "anomaly.cleared",
    "alert.raised",
    "alert.resolved",
    "checks.requested",
    "retention.requested",
]


@pytest.fixture(scope="session")
async def gateway(system: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway authenticated as the session's bootstrap superuser (its API token)."""
    headers = {"authorization": f"Bearer {system.bootstrap_token}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
async def events(system: Stack) -> AsyncIterator[TopicCollector]:
    """Every canonical event published during the session (a plain Kafka consumer, like any outside one)."""
    collector = await TopicCollector(system.kafka_bootstrap, CANONICAL, from_beginning=True).start()
    yield collector
    # Closing a session-long consumer can outlast a broker the fault tests made slow; nothing is checked here.
    with contextlib.suppress(KafkaError, TimeoutError):
        await collector.stop()
