"""Fixtures of execution-tracking's tests: the composition root on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.devstack.stack import Stack
from headwater.execution_tracking.bootstrap import Container, bootstrap
from headwater.execution_tracking.settings import Settings


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    c = bootstrap(
        Settings(
            database_url=stack.service_dsn("execution_tracking"),
            kafka_bootstrap_servers=stack.kafka_bootstrap,
            log_json=False,
        )
    )
    await c.open()
    yield c
    await c.close()
