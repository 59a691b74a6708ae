"""Fixtures of the ingestion engine's tests: a destination database of its own on the session's real Postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from headwater.devstack.stack import Stack, with_database
from headwater.ingestion.adapters.warehouse import PostgresWarehouse


@pytest.fixture(scope="session")
async def warehouse_dsn(stack: Stack) -> AsyncIterator[str]:
    """A plain database standing for a customer's destination warehouse (the admin's DSN to it)."""
    database = f"warehouse_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(with_database(stack.admin_dsn, "postgres"))
    try:
        await server.execute(f'CREATE DATABASE "{database}"')
        yield with_database(stack.admin_dsn, database)
        await server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.fixture
async def warehouse(warehouse_dsn: str) -> AsyncIterator[PostgresWarehouse]:
    """A warehouse on a schema of its own (random per test, so tests never share tables)."""
    opened = await PostgresWarehouse.open(warehouse_dsn, f"wh_{uuid.uuid4().hex[:8]}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def db(warehouse_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(warehouse_dsn)
    try:
        yield conn
    finally:
        await conn.close()
