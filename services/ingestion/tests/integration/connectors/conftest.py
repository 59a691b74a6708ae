"""Fixtures of the connectors' tests: the warehouse database as a destination configuration, and for the sources a
password-checking, TLS-serving Postgres and a MariaDB server, each started once per session in a temporary folder
(the MariaDB tests skip when `mariadb-server` is not installed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from headwater.ingestion.arrow import RecordBatch
from headwater.ingestion.testing_sources import (
    MARIADB_MISSING,
    MariaDB,
    SourcePostgres,
    mariadb_binaries,
    mariadb_server,
    source_postgres,
)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourcePostgres]:
    with source_postgres(tmp_path_factory.mktemp("source-postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    if mariadb_binaries() is None:
        pytest.skip(MARIADB_MISSING)
    with mariadb_server(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


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
