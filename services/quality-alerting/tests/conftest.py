"""Fixtures of quality-alerting's tests: the composition root on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import opened, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.settings import Settings

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    """quality-alerting's container (settings, engine, unit-of-work factory) with its own database role; the
    tests' webhook receivers listen on loopback, which the operator's allow-list must name."""
    async with opened(bootstrap(settings_on(stack, Settings, SCHEMA, webhook_allow=LOOPBACK))) as c:
        yield c
