"""Fixtures of execution-tracking's tests: the composition root on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import opened, settings_on
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.bootstrap import Container, bootstrap
from headwater.execution_tracking.settings import Settings


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    async with opened(bootstrap(settings_on(stack, Settings, SCHEMA))) as c:
        yield c
