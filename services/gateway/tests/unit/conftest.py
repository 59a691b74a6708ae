"""Fixtures of the gateway's unit tests: the app on a fake container, each service a recording fake upstream
(a test module overrides one of them to script its answer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.gateway.app import create_app
from headwater.gateway.testing import FakeUpstream, fake_container


@pytest.fixture
def execution_tracking() -> FakeUpstream:
    return FakeUpstream("execution-tracking")


@pytest.fixture
def quality_alerting() -> FakeUpstream:
    return FakeUpstream("quality-alerting")


@pytest.fixture
def scheduler() -> FakeUpstream:
    return FakeUpstream("scheduler")


@pytest.fixture
def ingestion() -> FakeUpstream:
    return FakeUpstream("ingestion")


@pytest.fixture
def client(
    execution_tracking: FakeUpstream,
    quality_alerting: FakeUpstream,
    scheduler: FakeUpstream,
    ingestion: FakeUpstream,
) -> Iterator[TestClient[Any]]:
    container = fake_container(execution_tracking, quality_alerting, scheduler, ingestion=ingestion)
    with TestClient(create_app(container)) as c:
        yield c
