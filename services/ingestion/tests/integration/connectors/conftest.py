"""Fixtures of the source connectors' tests: a password-checking, TLS-serving Postgres and a MariaDB server, each
started once per session in a temporary folder (the MariaDB tests skip when `mariadb-server` is not installed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
