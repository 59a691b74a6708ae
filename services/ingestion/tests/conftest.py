"""Fixtures of ingestion's tests: the composition root and the internal API on the session's real Postgres, a
destination warehouse database of its own, and the object stores (local folder, moto S3, GCS emulator, Azurite)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.devstack.stack import Stack, with_database
from headwater.devstack.testing import SignedCalls, opened, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.adapters.storage import ObjectStore, local_store
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.settings import Settings
from headwater.ingestion.testing import (
    AzureEmulator,
    GCSEmulator,
    S3Server,
    azurite,
    azurite_blob_command,
    gcs_emulator,
    moto_s3_server,
    new_bucket_name,
)


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


STORE_KINDS = ["local", "s3", "gcs", "azure"]
SERVERS = {"s3": "s3_server", "gcs": "gcs_server", "azure": "azure_server"}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSEmulator]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs-emulator")) as server:
        yield server


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureEmulator]:
    """Azurite, installed with npm into the test cache the first time (skipped without Node.js and npm)."""
    command = azurite_blob_command()
    if command is None:
        pytest.skip("Azure's storage emulator (Azurite) needs Node.js and npm, which this machine lacks")
    with azurite(tmp_path_factory.mktemp("azurite"), command) as server:
        yield server


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def object_store(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ObjectStore:
    """A store of its own for the test: a fresh folder, or a fresh bucket under a prefix."""
    if store_kind == "local":
        return ObjectStore(local_store(tmp_path_factory.mktemp("store")))
    server: S3Server | GCSEmulator | AzureEmulator = request.getfixturevalue(SERVERS[store_kind])
    bucket = new_bucket_name(store_kind)
    server.create_bucket(bucket)
    return ObjectStore(server.store(bucket, prefix="uploads"))


@pytest.fixture(scope="session")
async def warehouse_dsn(stack: Stack) -> AsyncIterator[str]:
    """A plain database standing for a customer's destination warehouse (the admin's DSN to it)."""
    database = f"warehouse_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(with_database(stack.admin_dsn, "postgres"))
    try:
        await server.execute(f'CREATE DATABASE "{database}"')
        yield with_database(stack.admin_dsn, database)
        await server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.fixture
async def warehouse(warehouse_dsn: str) -> AsyncIterator[PostgresWarehouse]:
    """A warehouse on a schema of its own (random per test, so tests never share tables)."""
    opened = await PostgresWarehouse.open(warehouse_dsn, f"wh_{uuid.uuid4().hex[:8]}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def db(warehouse_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(warehouse_dsn)
    try:
        yield conn
    finally:
        await conn.close()
