"""Queue monitoring on the real broker and Postgres: lag per consumer group, thresholds, alerts once per level."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from headwater.common.testing import produce
from headwater.devstack.stack import Stack
from headwater.quality_alerting.adapters.kafka_lag import consumer_lag
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.service_layer.queue_monitor import level_of, monitor_queue

pytestmark = pytest.mark.integration


def test_levels_follow_the_watcher_thresholds() -> None:
    assert [level_of(n, warning=50, critical=100) for n in (0, 49, 50, 99, 100, 5000)] == [
        None,
        None,
        "warning",
        "warning",
        "critical",
        "critical",
    ]


async def test_lag_counts_what_a_group_has_not_consumed(stack: Stack) -> None:
    group, topic = f"lag-{uuid.uuid4().hex[:8]}", "ingress.files"
    await produce(stack.kafka_bootstrap, topic, [(str(n).encode(), b"{}") for n in range(30)])
    before = (await consumer_lag(stack.kafka_bootstrap, {group: [topic]}))[group]
    # A group that never committed has the whole topic ahead of it. (Lag is in offsets: Kafka gives every
    # record one, tansu one per produced batch, so 30 records may be fewer offsets here.)
    assert before > 0

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumed = 0
        while batch := await consumer.getmany(timeout_ms=2000):
            consumed += sum(len(records) for records in batch.values())
        await consumer.commit()
    finally:
        await consumer.stop()
    assert consumed >= 30
    assert (await consumer_lag(stack.kafka_bootstrap, {group: [topic]}))[group] == 0
    assert (await consumer_lag(stack.kafka_bootstrap, {group: ["no.such.topic"]}))[group] == 0


async def test_a_backlog_raises_one_alert_per_level_and_hour(container: Container) -> None:
    now = datetime(2301, 1, 1, 10, 7, tzinfo=UTC)

    def lag(n: int):
        async def read() -> dict[str, int]:
            return {"execution-tracking": n, "quality-alerting": 0}

        return read

    # Other tests leave unsent outbox rows here (no relay runs in integration tests): thresholds sit above them.
    backlog = (
        await monitor_queue(container.uow_factory(), lag(0), now, warning=10**9, critical=10**9)
    ).pending
    warning, critical = backlog + 50, backlog + 100
    quiet = await monitor_queue(container.uow_factory(), lag(3), now, warning=warning, critical=critical)
    assert quiet.level is None
    assert quiet.alert_id is None
    warn = await monitor_queue(container.uow_factory(), lag(60), now, warning=warning, critical=critical)
    assert warn.level == "warning"
    assert warn.alert_id is not None
    again = await monitor_queue(
        container.uow_factory(), lag(70), now.replace(minute=12), warning=warning, critical=critical
    )
    assert again.level == "warning"
    assert again.alert_id is None
    critical = await monitor_queue(
        container.uow_factory(), lag(500), now.replace(minute=17), warning=warning, critical=critical
    )
    assert critical.level == "critical"
    assert critical.alert_id is not None
    async with container.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT severity, body FROM alert WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": [warn.alert_id, critical.alert_id]},
            )
        ).all()
    assert [r.severity for r in rows] == ["warning", "critical"]
    assert rows[1].body["consumer_lag"]["execution-tracking"] == 500
    assert rows[1].body["pending"] >= 500
