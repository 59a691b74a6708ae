"""A message the use case fails on, on the real broker and Postgres: after bounded attempts its batch is split,
the poison goes to the dead-letter topic and the rest of the batch is applied (the batch is not redelivered
forever)."""

from __future__ import annotations

import secrets
import uuid

import msgspec
import pytest
from sqlalchemy import text

from headwater.common.events import PipelineChanged, PipelineSlo, encode_event
from headwater.common.messaging.broker import create_broker, create_producer
from headwater.common.testing import TopicCollector, produce
from headwater.devstack.kafka import create_topics
from headwater.devstack.stack import Stack
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.entrypoints.messaging.subscribers import register_subscribers

pytestmark = pytest.mark.integration


def changed(pipeline_id: int, name: str, slo: PipelineSlo | None = None) -> PipelineChanged:
    return PipelineChanged(
        pipeline_id=pipeline_id,
        name=name,
        pipeline_type_id=1,
        pipeline_type_name="t",
        active=True,
        load_lineage=False,
        slo=slo or PipelineSlo(),
    )


async def test_poison_facts_are_dead_lettered_and_the_rest_of_the_batch_applied(
    stack: Stack, container: Container
) -> None:
    prefix = f"p{uuid.uuid4().hex[:10]}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=1)
    settings = msgspec.structs.replace(
        container.settings, topic_prefix=prefix, consumer_group=f"{prefix}quality-alerting"
    )
    base = secrets.randbelow(2**60) + 1
    good = [changed(base + n, f"good {n}") for n in range(3)]
    poison = [
        changed(base + 10, "nul \x00 in a name"),  # Postgres refuses it (22021)
        changed(base + 11, "too big", PipelineSlo(freshness_number=2**40)),  # asyncpg refuses the int4
    ]
    batch = [good[0], poison[0], good[1], poison[1], good[2]]
    await produce(
        stack.kafka_bootstrap, f"{prefix}pipeline.changed", [(e.key, encode_event(e)) for e in batch]
    )
    dead = await TopicCollector(
        stack.kafka_bootstrap, [f"{prefix}pipeline.changed.dlq"], from_beginning=True
    ).start()
    broker = create_broker(settings, service="quality-alerting-test")
    producer = create_producer(settings, service="quality-alerting-test")
    await producer.start()
    register_subscribers(broker, settings=settings, uow_factory=container.uow_factory, producer=producer)
    await broker.start()
    try:
        letters = await dead.wait_for(lambda m: True, count=2, timeout=60)
        assert sorted(int(m.key or b"0") for m in letters) == [base + 10, base + 11]
        for m in letters:
            assert m.headers["x-dlq-consumer"] == b"quality-alerting.execution-facts"
            assert m.headers["x-dlq-original-topic"] == f"{prefix}pipeline.changed".encode()
            assert m.headers["x-dlq-reason"]
        async with container.engine.connect() as conn:
            names = (
                await conn.execute(
                    text(
                        "SELECT name FROM pipeline_settings WHERE pipeline_id BETWEEN :lo AND :hi ORDER BY 1"
                    ),
                    {"lo": base, "hi": base + 11},
                )
            ).scalars()
            assert list(names) == ["good 0", "good 1", "good 2"]
    finally:
        await broker.stop()
        await producer.stop()
        await dead.stop()
