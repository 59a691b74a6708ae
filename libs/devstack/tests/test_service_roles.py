"""The roles `provision` makes: no service's role reads another service's schema (every pair)."""

from __future__ import annotations

import itertools

import asyncpg
import pytest

from headwater.devstack.stack import SERVICES, Stack

pytestmark = pytest.mark.integration

SCHEMAS = [s.schema for s in SERVICES if s.schema is not None]


@pytest.mark.parametrize(("role", "other"), list(itertools.permutations(SCHEMAS, 2)))
async def test_no_service_role_reads_another_services_schema(stack: Stack, role: str, other: str) -> None:
    conn = await asyncpg.connect(stack.service_dsn(role))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval(f"SELECT count(*) FROM {other}.alembic_version")
    finally:
        await conn.close()
