"""Syncs end to end at the service layer, on real Postgres: a source database's table copied into a destination
database by a job — full refresh, then incremental (inserts and updates arrive, nothing twice) — with the run's
bookkeeping (queued once, skipped while active, canceled, logged, reported) and the checks a user meets first."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from headwater.common.errors import Conflict, Invalid, NotFound
from headwater.common.events import JobRunRequested
from headwater.devstack.stack import Stack, with_database
from headwater.ingestion.bootstrap import Container
from headwater.ingestion.domain.connectors import SyncMode
from headwater.ingestion.domain.syncs import MASK, Role, RunStatus, StreamConfig, streams_from
from headwater.ingestion.service_layer import syncs

from .conftest import postgres_config

pytestmark = pytest.mark.integration

PROJECT = "123"


@pytest.fixture
async def source_dsn(stack: Stack) -> AsyncIterator[str]:
    """A source database with `public.orders` (1,000 rows) and a login role with a password."""
    database = f"src_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(with_database(stack.admin_dsn, "postgres"))
    try:
        await server.execute(f'CREATE DATABASE "{database}"')
        dsn = with_database(stack.admin_dsn, database)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), city text, "
                "updated_at timestamptz NOT NULL)"
            )
            await conn.execute(
                "INSERT INTO orders SELECT i, i * 1.5, 'city ' || (i % 7), "
                "timestamptz '2026-01-01' + i * interval '1 minute' FROM generate_series(1, 1000) i"
            )
        finally:
            await conn.close()
        yield dsn
        await server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await server.close()


def source_config(dsn: str, **overrides: Any) -> dict[str, Any]:
    """The Postgres source configuration reaching `dsn` (the source names its TLS setting `ssl_mode`)."""
    config = postgres_config(dsn, ssl_mode="disable", **overrides)
    del config["ssl"]
    return config


async def _rows(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def _request(job_id: int) -> JobRunRequested:
    return JobRunRequested(job=f"sync-{job_id}", kind="sync", job_id=job_id, due_at=datetime.now(UTC))


async def _run_once(container: Container, job_id: int) -> Any:
    assert await syncs.request_runs(container.uow_factory(), [_request(job_id)], datetime.now(UTC)) == 1
    run = await syncs.run_next(container.uow_factory, container.box, container.connectors)
    assert run is not None
    return run


async def test_a_job_copies_a_table_then_only_what_changed(
    container: Container, source_dsn: str, warehouse_dsn: str
) -> None:
    uow = container.uow_factory
    schema = f"synced_{uuid.uuid4().hex[:6]}"
    source = await syncs.create_connection(
        uow(),
        container.box,
        container.connectors,
        Role.SOURCE,
        PROJECT,
        name=f"shop {schema}",
        kind="postgres",
        version="latest",
        config=source_config(source_dsn, password="s3cret"),
    )
    assert source.config["password"] == MASK  # never answered back
    async with container.engine.connect() as conn:
        at_rest = await conn.scalar(
            text("SELECT config FROM ingestion.sync_connection WHERE id = :id"), {"id": source.connection.id}
        )
    assert str(at_rest).startswith("hw1:")
    assert "s3cret" not in str(at_rest)
    assert "5432" not in str(at_rest)  # the whole configuration is sealed, not only its secrets
    destination = await syncs.create_connection(
        uow(),
        container.box,
        container.connectors,
        Role.DESTINATION,
        PROJECT,
        name=f"warehouse {schema}",
        kind="postgres",
        version="latest",
        config=postgres_config(warehouse_dsn, schema=schema),
    )
    job = await syncs.create_job(
        uow(),
        container.box,
        container.connectors,
        PROJECT,
        name=f"orders {schema}",
        source_id=source.connection.id,
        destination_id=destination.connection.id,
        streams=[StreamConfig(namespace="public", name="orders")],
        frequency="*/5 * * * *",
    )

    first = await _run_once(container, job.id)
    assert (first.status, first.rows) == (RunStatus.SUCCEEDED, {"public.orders": 1000})
    total = await _rows(warehouse_dsn, f'SELECT count(*) AS n, sum(amount) AS s FROM "{schema}".orders')
    assert (total[0]["n"], float(total[0]["s"])) == (1000, 1.5 * 1000 * 1001 / 2)

    # incremental by `updated_at`, keyed by `id`: the first run takes everything, the next only the change
    job = await syncs.update_job(
        uow(),
        container.box,
        container.connectors,
        PROJECT,
        job.id,
        streams=[
            StreamConfig(
                namespace="public",
                name="orders",
                sync_mode=SyncMode.INCREMENTAL,
                cursor_field="updated_at",
                primary_key=("id",),
            )
        ],
    )
    assert (await _run_once(container, job.id)).status is RunStatus.SUCCEEDED
    conn = await asyncpg.connect(source_dsn)
    try:
        await conn.execute(
            "INSERT INTO orders SELECT i, 1, 'new', timestamptz '2026-06-01' + i * interval '1 second' "
            "FROM generate_series(1001, 1010) i"
        )
        await conn.execute(
            "UPDATE orders SET amount = 0, updated_at = timestamptz '2026-07-01' WHERE id <= 5"
        )
    finally:
        await conn.close()
    third = await _run_once(container, job.id)
    assert third.status is RunStatus.SUCCEEDED
    assert third.rows == {"public.orders": 15}
    after = await _rows(
        warehouse_dsn,
        f"SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount) FILTER (WHERE id <= 5) AS zeroed "
        f'FROM "{schema}".orders',
    )
    assert (after[0]["n"], after[0]["ids"], float(after[0]["zeroed"])) == (1010, 1010, 0.0)

    with pytest.raises(NotFound):
        await syncs.run_logs(uow(), PROJECT, job.id, "not-a-uuid")
    logs = await syncs.run_logs(uow(), PROJECT, job.id, third.id)
    assert logs[0].message == "sync_run_started"
    assert any(line.message == "stream_written" and line.fields["rows"] == 15 for line in logs)
    runs = await syncs.runs_of(uow(), PROJECT, job.id)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 3
    listed = await syncs.list_connections(uow(), container.box, container.connectors, Role.SOURCE, PROJECT)
    mine = next(v for v in listed if v.connection.id == source.connection.id)
    assert [(j.job.id, j.last_run.status if j.last_run else None) for j in mine.jobs] == [
        (job.id, RunStatus.SUCCEEDED)
    ]
    await syncs.delete_job(uow(), PROJECT, job.id)  # its schedule goes (a worker of the session relays it)


async def test_one_active_run_per_job_and_a_queued_run_cancels_at_once(
    container: Container, source_dsn: str, warehouse_dsn: str
) -> None:
    uow = container.uow_factory
    tag = uuid.uuid4().hex[:6]
    source = await syncs.create_connection(
        uow(),
        container.box,
        container.connectors,
        Role.SOURCE,
        PROJECT,
        name=f"src {tag}",
        kind="postgres",
        version="latest",
        config=source_config(source_dsn),
    )
    destination = await syncs.create_connection(
        uow(),
        container.box,
        container.connectors,
        Role.DESTINATION,
        PROJECT,
        name=f"dst {tag}",
        kind="postgres",
        version="latest",
        config=postgres_config(warehouse_dsn, schema=f"s_{tag}"),
    )
    job = await syncs.create_job(
        uow(),
        container.box,
        container.connectors,
        PROJECT,
        name=f"job {tag}",
        source_id=source.connection.id,
        destination_id=destination.connection.id,
        streams=[StreamConfig(name="orders")],
        frequency=None,
    )
    now = datetime.now(UTC)
    first, second = _request(job.id), _request(job.id)
    assert await syncs.request_runs(uow(), [first, second], now) == 1
    assert await syncs.request_runs(uow(), [first], now) == 0  # redelivered: nothing new
    runs = await syncs.runs_of(uow(), PROJECT, job.id)
    assert sorted(r.status for r in runs) == sorted([RunStatus.QUEUED, RunStatus.SKIPPED])

    canceled = await syncs.cancel(uow(), PROJECT, job.id)
    assert canceled.status is RunStatus.CANCELED
    with pytest.raises(Conflict):
        await syncs.cancel(uow(), PROJECT, job.id)

    with pytest.raises(Conflict, match="used by job"):
        await syncs.delete_connection(uow(), Role.SOURCE, PROJECT, source.connection.id)
    await syncs.delete_job(uow(), PROJECT, job.id)
    gone = await syncs.delete_connection(uow(), Role.SOURCE, PROJECT, source.connection.id)
    assert gone.name == f"src {tag}"


async def test_what_a_user_gets_wrong_is_said_clearly(
    container: Container, source_dsn: str, warehouse_dsn: str
) -> None:
    uow, box, connectors = container.uow_factory, container.box, container.connectors
    with pytest.raises(Invalid, match="unknown source type 'db2'"):
        await syncs.create_connection(
            uow(), box, connectors, Role.SOURCE, PROJECT, name="x", kind="db2", version="latest", config={}
        )
    with pytest.raises(Invalid, match=r"config\.port"):
        await syncs.create_connection(
            uow(),
            box,
            connectors,
            Role.SOURCE,
            PROJECT,
            name="x",
            kind="postgres",
            version="latest",
            config=source_config(source_dsn, port="not a port"),
        )
    refused = await syncs.check(connectors, Role.SOURCE, "postgres", source_config(source_dsn, port=1))
    assert (refused.ok, refused.reason) == (False, "connection_refused")
    fine = await syncs.check(connectors, Role.DESTINATION, "postgres", postgres_config(warehouse_dsn))
    assert fine.ok

    tag = uuid.uuid4().hex[:6]
    source = await syncs.create_connection(
        uow(),
        box,
        connectors,
        Role.SOURCE,
        PROJECT,
        name=f"s {tag}",
        kind="postgres",
        version="latest",
        config=source_config(source_dsn),
    )
    with pytest.raises(Conflict, match="exists"):
        await syncs.create_connection(
            uow(),
            box,
            connectors,
            Role.SOURCE,
            PROJECT,
            name=f"s {tag}",
            kind="postgres",
            version="latest",
            config=source_config(source_dsn),
        )
    destination = await syncs.create_connection(
        uow(),
        box,
        connectors,
        Role.DESTINATION,
        PROJECT,
        name=f"d {tag}",
        kind="postgres",
        version="latest",
        config=postgres_config(warehouse_dsn),
    )
    source_id, destination_id = source.connection.id, destination.connection.id
    with pytest.raises(Invalid, match=r"'public\.nope' not found"):
        await syncs.create_job(
            uow(),
            box,
            connectors,
            PROJECT,
            name=f"j {tag}",
            streams=[StreamConfig(namespace="public", name="nope")],
            frequency=None,
            source_id=source_id,
            destination_id=destination_id,
        )
    with pytest.raises(Invalid, match="frequency"):
        await syncs.create_job(
            uow(),
            box,
            connectors,
            PROJECT,
            name=f"j {tag}",
            streams=[StreamConfig(name="orders")],
            frequency="61 * * * *",
            source_id=source_id,
            destination_id=destination_id,
        )
    with pytest.raises(Invalid, match="cursor_field"):
        streams_from([{"name": "orders", "sync_mode": "incremental"}])
