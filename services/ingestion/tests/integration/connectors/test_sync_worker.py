"""A sync run by the `worker` command as deployed — `job.run.requested` through the real broker, the sync runner
claiming the run — and SIGKILLed in the middle of writing a 1.5M-row table: a second worker resumes the run once
its lease ran out, and the destination then holds exactly the source's rows (count and checksum compared).

The service gets a database and topics of its own (a scratch database migrated to head, a topic prefix), so its
worker sees nothing of the other tests of the session."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from headwater.common.service import migrate_service
from headwater.common.testing import eventually
from headwater.devstack import procs
from headwater.devstack.kafka import create_topics
from headwater.devstack.stack import Stack, with_database
from headwater.devstack.testing import opened, scratch_database, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.domain.syncs import Role, RunStatus, StreamConfig
from headwater.ingestion.service_layer import syncs
from headwater.ingestion.settings import Settings

from .conftest import postgres_config

pytestmark = pytest.mark.integration

ROWS = 1_500_000
PROJECT = "7"
CHECKSUM = "SELECT count(*) AS n, sum(id) AS ids, sum(length(note)) AS notes FROM {table}"


class Service:
    def __init__(self, container: Container, env: dict[str, str], workdir: Path) -> None:
        self.container = container
        self.env = env
        self.workdir = workdir
        self.started = 0
        self.pidfiles: list[Path] = []

    def start_worker(self) -> tuple[Path, Path]:
        self.started += 1
        pidfile = self.workdir / f"worker-{self.started}.pid"
        logfile = self.workdir / f"worker-{self.started}.log"
        self.pidfiles.append(pidfile)
        procs.spawn(
            [sys.executable, "-m", "headwater.ingestion", "worker"],
            pidfile=pidfile,
            logfile=logfile,
            env=self.env,
        )
        return pidfile, logfile


@pytest.fixture
async def service(stack: Stack, tmp_path: Path) -> AsyncIterator[Service]:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=1)
    async with scratch_database(stack, SCHEMA) as (_, dsn):
        await migrate_service("headwater.ingestion", dsn)
        group = f"ingestion-{prefix}"
        settings = settings_on(
            stack, Settings, SCHEMA, database_url=dsn, topic_prefix=prefix, consumer_group=group
        )
        env = stack.service_env() | {
            "HEADWATER_INGESTION_DATABASE_URL": dsn,
            "HEADWATER_TOPIC_PREFIX": prefix,
            "HEADWATER_INGESTION_CONSUMER_GROUP": group,
            "HEADWATER_INGESTION_WORKER_METRICS_PORT": "0",
            "HEADWATER_INGESTION_SYNC_LEASE_SECONDS": "4",
            "HEADWATER_LOG_JSON": "false",
        }
        async with opened(bootstrap(settings)) as container:
            service = Service(container, env, tmp_path)
            try:
                yield service
            finally:
                for pidfile in service.pidfiles:
                    procs.stop(pidfile, timeout=20)


@pytest.fixture
async def source_dsn(stack: Stack) -> AsyncIterator[str]:
    database = f"src_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(with_database(stack.admin_dsn, "postgres"))
    try:
        await server.execute(f'CREATE DATABASE "{database}"')
        dsn = with_database(stack.admin_dsn, database)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, note text, at timestamptz)")
            await conn.execute(
                f"INSERT INTO events SELECT i, md5(i::text), now() FROM generate_series(1, {ROWS}) i"
            )
        finally:
            await conn.close()
        yield dsn
        await server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await server.close()


async def _one(dsn: str, sql: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(sql)
    finally:
        await conn.close()


async def test_a_sync_killed_mid_write_resumes_and_leaves_exactly_the_source_rows(
    service: Service, source_dsn: str, warehouse_dsn: str
) -> None:
    c = service.container
    schema = f"killed_{uuid.uuid4().hex[:6]}"
    source_config = postgres_config(source_dsn, ssl_mode="disable")
    del source_config["ssl"]
    source = await syncs.create_connection(
        c.uow_factory(),
        c.box,
        c.connectors,
        Role.SOURCE,
        PROJECT,
        name="events db",
        kind="postgres",
        version="latest",
        config=source_config,
    )
    destination = await syncs.create_connection(
        c.uow_factory(),
        c.box,
        c.connectors,
        Role.DESTINATION,
        PROJECT,
        name="warehouse",
        kind="postgres",
        version="latest",
        config=postgres_config(warehouse_dsn, schema=schema),
    )
    job = await syncs.create_job(
        c.uow_factory(),
        c.box,
        c.connectors,
        PROJECT,
        name="events",
        source_id=source.connection.id,
        destination_id=destination.connection.id,
        streams=[StreamConfig(namespace="public", name="events")],
        frequency=None,
    )
    first_pid, first_log = service.start_worker()
    await syncs.sync_now(c.uow_factory(), PROJECT, job.id, datetime.now(UTC))  # through the outbox and Kafka

    async def running() -> Any:
        runs = await syncs.runs_of(c.uow_factory(), PROJECT, job.id)
        assert runs, (
            f"no run yet; worker log:\n{first_log.read_text(errors='replace')[-3000:] if first_log.exists() else ''}"
        )
        assert runs[0].status is RunStatus.RUNNING
        return runs[0]

    run = await eventually(running, timeout=90)
    await asyncio.sleep(2.0)  # well into the stream's one write transaction
    os.kill(int(first_pid.read_text()), signal.SIGKILL)
    first_pid.unlink()
    assert (await syncs.runs_of(c.uow_factory(), PROJECT, job.id))[0].status is RunStatus.RUNNING

    service.start_worker()

    async def done() -> Any:
        again = await syncs.runs_of(c.uow_factory(), PROJECT, job.id)
        assert again[0].id == run.id
        assert again[0].status is RunStatus.SUCCEEDED, again[0]
        return again[0]

    resumed = await eventually(done, timeout=240)
    assert resumed.attempt == 2  # claimed again once the dead worker's lease ran out
    assert resumed.rows == {"public.events": ROWS}
    expected = await _one(source_dsn, CHECKSUM.format(table="events"))
    landed = await _one(warehouse_dsn, CHECKSUM.format(table=f'"{schema}".events'))
    assert dict(landed) == dict(expected)
    logs = await syncs.run_logs(c.uow_factory(), PROJECT, job.id, run.id)
    assert [x.fields.get("attempt") for x in logs if x.message == "sync_run_started"] == [1, 2]
