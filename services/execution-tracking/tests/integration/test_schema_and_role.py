"""The `execution_tracking` schema: migrations up and down, its own version table, its own role."""

from __future__ import annotations

import asyncpg
import pytest

from headwater.common.testing.schema import schema_differences
from headwater.devstack.stack import Stack
from headwater.devstack.testing import scratch_database
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.adapters.db.migrate import migrate
from headwater.execution_tracking.adapters.db.tables import metadata

pytestmark = pytest.mark.integration

TABLES = {
    "pipeline_type",
    "pipeline",
    "pipeline_execution",
    "pipeline_execution_closure",
    "address_type",
    "address",
    "address_lineage",
    "run_dataset",
    "outbox",
    "inbox",
}


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'execution_tracking'"
    )
    return {r["table_name"] for r in rows}


async def test_migrations_down_and_up_on_a_fresh_database(stack: Stack) -> None:
    """On a database of its own: head, base (nothing left but the version table), head again."""
    async with scratch_database(stack, "execution_tracking") as (admin, dsn):
        await migrate(dsn)
        assert await tables(admin) == TABLES | {"alembic_version"}
        assert await admin.fetchval("SELECT version_num FROM execution_tracking.alembic_version") == "0002"
        assert not await admin.fetchval("SELECT to_regclass('public.alembic_version')")
        await migrate(dsn, "base", downgrade=True)
        assert await tables(admin) == {"alembic_version"}
        assert not await admin.fetchval("SELECT count(*) FROM pg_proc WHERE proname = 'outbox_notify'")
        await migrate(dsn)
        assert await tables(admin) == TABLES | {"alembic_version"}
        assert await schema_differences(dsn, SCHEMA, metadata) == []


async def test_the_service_role_can_touch_only_its_own_schema(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.service_dsn("execution_tracking"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM execution_tracking.pipeline") >= 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE SCHEMA intruder")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TEMP TABLE intruder (id int)")
        assert not await conn.fetchval(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await conn.close()


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
