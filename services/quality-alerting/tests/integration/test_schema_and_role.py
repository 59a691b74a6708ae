"""The `quality_alerting` schema: migrations down and up match the tables in code; its role owns only it."""

from __future__ import annotations

import itertools

import asyncpg
import pytest

from headwater.common.testing.schema import schema_differences
from headwater.devstack.stack import SERVICES, Stack
from headwater.devstack.testing import scratch_database
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.adapters.db.migrate import migrate
from headwater.quality_alerting.adapters.db.tables import metadata

pytestmark = pytest.mark.integration

TABLES = {t.name for t in metadata.tables.values()}


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'quality_alerting'"
    )
    return {r["table_name"] for r in rows}


async def test_migrations_down_and_up_on_a_fresh_database(stack: Stack) -> None:
    """On a database of its own: head, base (nothing left but the version table), head again, equal to code."""
    async with scratch_database(stack, SCHEMA) as (admin, dsn):
        await migrate(dsn)
        assert await tables(admin) == TABLES | {"alembic_version"}
        assert await admin.fetchval(f"SELECT version_num FROM {SCHEMA}.alembic_version") == "0002"
        await migrate(dsn, "base", downgrade=True)
        assert await tables(admin) == {"alembic_version"}
        assert not await admin.fetchval("SELECT count(*) FROM pg_proc WHERE proname = 'outbox_notify'")
        await migrate(dsn)
        assert await schema_differences(dsn, SCHEMA, metadata) == []


async def test_the_service_role_can_touch_only_its_own_schema(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.service_dsn(SCHEMA))
    try:
        assert await conn.fetchval("SELECT count(*) FROM quality_alerting.alert") >= 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TEMP TABLE intruder (id int)")
    finally:
        await conn.close()


SCHEMAS = [s.schema for s in SERVICES if s.schema is not None]


@pytest.mark.parametrize(("role", "other"), list(itertools.permutations(SCHEMAS, 2)))
async def test_no_service_role_reads_another_services_schema(stack: Stack, role: str, other: str) -> None:
    conn = await asyncpg.connect(stack.service_dsn(role))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval(f"SELECT count(*) FROM {other}.alembic_version")
    finally:
        await conn.close()
