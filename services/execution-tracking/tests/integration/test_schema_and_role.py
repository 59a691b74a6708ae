"""The `execution_tracking` schema: migrations up and down, its own version table, its own role; the topics."""

from __future__ import annotations

import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import SchemaAndRoleTests

pytestmark = pytest.mark.integration


class TestSchemaAndRole(SchemaAndRoleTests):
    package = "headwater.execution_tracking"
    head = "0003"


async def test_topics_exist_with_twelve_partitions_and_dead_letter_twins(stack: Stack) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
    await consumer.start()
    try:
        topics = await consumer.topics()
        for topic in (
            "ingress.runs",
            "ingress.runs.dlq",
            "pipeline.changed",
            "execution.started",
            "execution.ended",
        ):
            assert topic in topics
            assert len(consumer.partitions_for_topic(topic) or ()) == 12, topic
    finally:
        await consumer.stop()
