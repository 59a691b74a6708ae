"""Fixtures of quality-alerting's tests: the composition root on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import opened, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.settings import Settings


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    """quality-alerting's container (settings, engine, unit-of-work factory) with its own database role."""
    async with opened(bootstrap(settings_on(stack, Settings, SCHEMA))) as c:
        yield c
