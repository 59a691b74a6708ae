"""Fixtures of the scheduler's tests: scheduler databases of their own on the session's real Postgres.

The schedule loop claims every due schedule of its database, so each test that fires schedules gets a fresh
database (its own `scheduler` schema, migrated, owned by the scheduler's role) instead of sharing one table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from headwater.common.service import migrate_service
from headwater.devstack.stack import Stack
from headwater.scheduler.bootstrap import Container, bootstrap
from headwater.scheduler.clock import Clock, system_clock
from headwater.scheduler.settings import Settings
from headwater.scheduler.testing import NewContainer, NewDatabase


def _on(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture
async def new_database(stack: Stack) -> AsyncIterator[NewDatabase]:
    """Makes migrated scheduler databases (the service's own DSN to each); dropped after the test."""
    made: list[str] = []

    async def make() -> str:
        database = f"scheduler_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(_on(stack.admin_dsn, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        made.append(database)
        admin = await asyncpg.connect(_on(stack.admin_dsn, database))
        try:
            await admin.execute('CREATE SCHEMA scheduler AUTHORIZATION "scheduler"')
        finally:
            await admin.close()
        dsn = _on(stack.service_dsn("scheduler"), database)
        await migrate_service("headwater.scheduler", dsn)
        return dsn

    yield make
    admin = await asyncpg.connect(_on(stack.admin_dsn, "postgres"))
    try:
        for database in made:
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def new_container(stack: Stack) -> AsyncIterator[NewContainer]:
    """Makes composition roots (one engine each, like separate replicas) on a given database and clock."""
    made: list[Container] = []

    async def make(dsn: str, clock: Clock = system_clock, **settings: object) -> Container:
        c = bootstrap(
            Settings(
                database_url=dsn,
                kafka_bootstrap_servers=stack.kafka_bootstrap,
                internal_signing_key=stack.internal_signing_key,
                log_json=False,
                **settings,  # pyright: ignore[reportArgumentType]
            ),
            clock=clock,
        )
        await c.open()
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()
