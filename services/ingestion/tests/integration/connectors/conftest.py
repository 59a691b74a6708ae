"""Fixtures of the destination connectors' tests: the warehouse database as a connector configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import pytest

from headwater.ingestion.arrow import RecordBatch


def postgres_config(dsn: str, **overrides: Any) -> dict[str, Any]:
    """The Postgres connector configuration reaching `dsn`."""
    parts = urlsplit(dsn)
    config: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "username": parts.username or "postgres",
        "password": parts.password or "",
        "ssl": "disable",
    }
    return config | overrides


async def stream_of(batches: Iterable[RecordBatch]) -> AsyncIterator[RecordBatch]:
    for batch in batches:
        yield batch


@pytest.fixture
def warehouse_config(warehouse_dsn: str) -> dict[str, Any]:
    return postgres_config(warehouse_dsn)
