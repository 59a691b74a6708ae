"""Fixtures of quality-alerting's tests: the composition root on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.devstack.stack import Stack
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.settings import Settings


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    """quality-alerting's container (settings, engine, unit-of-work factory) with its own database role."""
    c = bootstrap(
        Settings(
            database_url=stack.service_dsn("quality_alerting"),
            kafka_bootstrap_servers=stack.kafka_bootstrap,
            log_json=False,
        )
    )
    await c.open()
    yield c
    await c.close()
