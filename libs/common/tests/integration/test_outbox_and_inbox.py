"""The outbox relay and the inbox against the real Postgres and broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from opentelemetry import trace
from prometheus_client import REGISTRY
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db import create_engine, schema_metadata
from headwater.common.db.engine import to_asyncpg_dsn
from headwater.common.events import ExecutionStarted, PipelineChanged
from headwater.common.messaging.broker import create_producer
from headwater.common.messaging.inbox import InboxPurge, claim_new
from headwater.common.messaging.outbox import MAX_EVENT_BYTES, EventTooLarge, enqueue
from headwater.common.messaging.relay import OutboxRelay
from headwater.common.messaging.tables import (
    inbox_table,
    outbox_notify_trigger_sql,
    outbox_quarantine_table,
    outbox_table,
)
from headwater.common.settings import CommonSettings
from headwater.common.telemetry import configure_telemetry
from headwater.common.testing import TopicCollector, eventually
from headwater.devstack.kafka import create_topics
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.integration


@dataclass
class Schema:
    name: str
    engine: AsyncEngine
    outbox: Table
    inbox: Table
    quarantine: Table


@pytest.fixture
async def schema(stack: Stack) -> AsyncIterator[Schema]:
    """A fresh schema with an outbox (and its NOTIFY trigger) and an inbox."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    md = schema_metadata(name)
    s = Schema(
        name,
        create_engine(stack.admin_dsn, schema=name),
        outbox_table(md),
        inbox_table(md),
        outbox_quarantine_table(md),
    )
    async with s.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{s.name}"'))
        await conn.run_sync(md.create_all)
        for stmt in outbox_notify_trigger_sql(s.name):
            await conn.execute(text(stmt))
    yield s
    async with s.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{s.name}" CASCADE'))
    await s.engine.dispose()


def started(pipeline_id: int, execution_id: int) -> ExecutionStarted:
    return ExecutionStarted(
        execution_id=execution_id,
        pipeline_id=pipeline_id,
        pipeline_name=f"p{pipeline_id}",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        hour_recorded=0,
        date_recorded=date(2024, 1, 1),
    )


async def make_relay(stack: Stack, schema: Schema, prefix: str) -> tuple[OutboxRelay, object]:
    producer = create_producer(CommonSettings(kafka_bootstrap_servers=stack.kafka_bootstrap), service="test")
    await producer.start()
    relay = OutboxRelay(
        dsn=to_asyncpg_dsn(stack.admin_dsn),
        schema=schema.name,
        producer=producer,
        topic_prefix=prefix,
        source="headwater/test",
        batch_size=7,
    )
    return relay, producer


async def test_relay_publishes_committed_rows_in_key_order_with_headers(stack: Stack, schema: Schema) -> None:
    prefix = f"{schema.name}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=3)
    collector = await TopicCollector(stack.kafka_bootstrap, [f"{prefix}execution.started"]).start()
    configure_telemetry("test")
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(p, n) for n in range(20) for p in (1, 2, 3)])
    async with schema.engine.connect() as conn:  # a rolled back transaction publishes nothing
        await conn.begin()
        await enqueue(conn, schema.outbox, [started(99, 1)])
        await conn.rollback()

    relays = [await make_relay(stack, schema, prefix) for _ in range(3)]
    try:
        # three relays at once: each key's rows still come out in order, each exactly once
        counts = await asyncio.gather(*(r.drain() for r, _ in relays))
        assert sum(counts) == 60
        got = await collector.wait_for(lambda m: True, count=60)
        for key in (b"1", b"2", b"3"):
            ids = [m.json()["execution_id"] for m in got if m.key == key]
            assert ids == list(range(20))
        m = got[0]
        assert m.headers["ce_type"] == b"execution.started.v1"
        assert m.headers["ce_source"] == b"headwater/test"
        assert m.headers["ce_id"].decode() == m.json()["event_id"]
        assert trace_id in m.headers["traceparent"].decode()
        assert await relays[0][0].backlog() == 0
        async with schema.engine.connect() as conn:
            unsent = (
                await conn.execute(select(schema.outbox.c.id).where(schema.outbox.c.sent_at.is_(None)))
            ).all()
        assert unsent == []
        assert not [m for m in collector.messages if m.key == b"99"]
    finally:
        await collector.stop()
        for relay, producer in relays:
            await relay.close()
            await producer.stop()  # type: ignore[attr-defined]


async def test_sent_rows_are_purged_after_the_retention(stack: Stack, schema: Schema) -> None:
    prefix = f"{schema.name}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=3)
    relay, producer = await make_relay(stack, schema, prefix)
    try:
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(5, n) for n in range(3)])
        assert await relay.drain() == 3
        await relay._housekeep()  # retention of an hour: the sent rows stay for inspection
        async with schema.engine.connect() as conn:
            assert len((await conn.execute(select(schema.outbox.c.id))).all()) == 3
        relay._sent_retention = 0
        await relay._housekeep()
        async with schema.engine.connect() as conn:
            assert (await conn.execute(select(schema.outbox.c.id))).all() == []
    finally:
        await relay.close()
        await producer.stop()  # type: ignore[attr-defined]


async def test_running_relay_is_woken_by_notify(stack: Stack, schema: Schema) -> None:
    prefix = f"{schema.name}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=3)
    collector = await TopicCollector(stack.kafka_bootstrap, [f"{prefix}execution.started"]).start()
    relay, producer = await make_relay(stack, schema, prefix)
    relay._poll_interval = 30  # only NOTIFY can wake it in time
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.listening.wait(), 10)
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(7, 1)])
        (m,) = await collector.wait_for(lambda m: m.key == b"7", timeout=5)
        assert m.json()["execution_id"] == 1
        # The first row may have been taken by the relay's first drain; by now it waits (30 s poll), so only the
        # NOTIFY of the next commit can wake it in time.
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(7, 2)])
        first, second = await collector.wait_for(lambda m: m.key == b"7", count=2, timeout=5)
        assert (first.json()["execution_id"], second.json()["execution_id"]) == (1, 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await collector.stop()
        await producer.stop()  # type: ignore[attr-defined]


async def test_an_event_over_the_size_limit_is_refused_at_enqueue(schema: Schema) -> None:
    huge = PipelineChanged(
        pipeline_id=1,
        name="p",
        pipeline_type_id=1,
        pipeline_type_name="t",
        active=True,
        load_lineage=False,
        pipeline_metadata={"blob": "x" * MAX_EVENT_BYTES},
    )
    async with schema.engine.connect() as conn:
        with pytest.raises(EventTooLarge, match=r"pipeline\.changed event of \d+ bytes"):
            await enqueue(conn, schema.outbox, [started(1, 1), huge])
        await conn.rollback()
    async with schema.engine.connect() as conn:
        assert (await conn.execute(select(schema.outbox.c.id))).all() == []


async def insert_raw_row(schema: Schema, key: str, payload: bytes) -> int:
    """A row as no enqueue would write it (over the size limit), straight into the outbox."""
    async with schema.engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    f'INSERT INTO "{schema.name}".outbox (topic, key, event_type, event_id, payload) '
                    "VALUES ('execution.started', :key, 'execution.started.v1', :event_id, :payload) RETURNING id"
                ),
                {"key": key, "event_id": str(uuid.uuid4()), "payload": payload},
            )
        ).scalar_one()


async def test_a_row_the_broker_refuses_is_quarantined_and_later_rows_flow(
    stack: Stack, schema: Schema
) -> None:
    """The producer applies the broker's default limit (1 MiB) itself; the embedded broker would take more."""
    prefix = f"{schema.name}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=3)
    collector = await TopicCollector(stack.kafka_bootstrap, [f"{prefix}execution.started"]).start()
    relay, producer = await make_relay(stack, schema, prefix)
    too_large = b'{"blob": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    try:
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(1, 0)])
        bad = await insert_raw_row(schema, "1", too_large)
        async with schema.engine.begin() as conn:
            await enqueue(conn, schema.outbox, [started(1, 1), started(2, 0)])

        assert await relay.drain() == 4
        got = await collector.wait_for(lambda m: True, count=3)
        assert [m.json()["execution_id"] for m in got if m.key == b"1"] == [0, 1]
        assert [m.json()["execution_id"] for m in got if m.key == b"2"] == [0]
        assert await relay.backlog() == 0
        async with schema.engine.connect() as conn:
            (row,) = (await conn.execute(select(schema.quarantine))).mappings().all()
            assert (
                await conn.execute(select(schema.outbox.c.id).where(schema.outbox.c.id == bad))
            ).all() == []
        assert (row["id"], row["key"], row["topic"], row["payload"]) == (
            bad,
            "1",
            "execution.started",
            too_large,
        )
        assert "TooLarge" in row["reason"]
        await relay._housekeep()
        assert REGISTRY.get_sample_value("headwater_outbox_quarantine_rows", {"schema": schema.name}) == 1
        assert (
            REGISTRY.get_sample_value(
                "headwater_outbox_quarantined_total", {"schema": schema.name, "topic": "execution.started"}
            )
            == 1
        )
    finally:
        await collector.stop()
        await relay.close()
        await producer.stop()  # type: ignore[attr-defined]


async def test_inbox_claims_each_message_once_per_consumer(schema: Schema) -> None:
    async with schema.engine.begin() as conn:
        assert await claim_new(conn, schema.inbox, "c1", ["a", "b", "a"]) == {"a", "b"}
    async with schema.engine.begin() as conn:
        assert await claim_new(conn, schema.inbox, "c1", ["b", "c"]) == {"c"}
        assert await claim_new(conn, schema.inbox, "c2", ["b"]) == {"b"}
    async with schema.engine.connect() as conn:  # a claim rolled back with its effects is not recorded
        await conn.begin()
        assert await claim_new(conn, schema.inbox, "c1", ["d"]) == {"d"}
        await conn.rollback()
    async with schema.engine.begin() as conn:
        assert await claim_new(conn, schema.inbox, "c1", ["d"]) == {"d"}


async def test_inbox_rows_older_than_the_retention_are_purged(stack: Stack, schema: Schema) -> None:
    async with schema.engine.begin() as conn:
        await claim_new(conn, schema.inbox, "c1", [f"new{n}" for n in range(3)])
        await claim_new(conn, schema.inbox, "c2", [f"old{n}" for n in range(5)])
        await conn.execute(
            text(
                f"UPDATE \"{schema.name}\".inbox SET processed_at = now() - interval '9 days' "
                "WHERE message_id LIKE 'old%'"
            )
        )
    purge = InboxPurge(
        dsn=to_asyncpg_dsn(stack.admin_dsn), schema=schema.name, retention_days=8, batch_size=2
    )
    assert await purge.purge_once() == 5
    async with schema.engine.connect() as conn:
        left = (await conn.execute(select(schema.inbox.c.message_id).order_by("message_id"))).scalars().all()
    assert left == ["new0", "new1", "new2"]
    assert await purge.purge_once() == 0
    async with (
        schema.engine.begin() as conn
    ):  # a purged message seen again (impossible past retention) is new
        assert await claim_new(conn, schema.inbox, "c2", ["old0"]) == {"old0"}


async def test_eventually_retries_until_true() -> None:
    calls = []

    async def check() -> int:
        calls.append(1)
        assert len(calls) >= 3
        return len(calls)

    assert await eventually(check, timeout=2, interval=0.01) == 3
