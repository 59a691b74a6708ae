"""Fixtures of ingestion's tests: the composition root and the internal API on the session's real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, opened, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.settings import Settings


@pytest.fixture(scope="session")
async def container(stack: Stack) -> AsyncIterator[Container]:
    """ingestion's container (settings, engine, unit-of-work factory) with its own database role."""
    async with opened(bootstrap(settings_on(stack, Settings, SCHEMA))) as c:
        yield c


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The internal API, every call signed as the gateway signs it (as `SYSTEM` unless a test names a
    principal). The app gets its own container: the test client runs it on its own event loop."""
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c
