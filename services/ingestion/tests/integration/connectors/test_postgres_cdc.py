"""CDC of the Postgres source on a real Postgres with `wal_level=logical`: a first read copies the table and
opens the slot, later reads carry exactly the changes since the saved position (replayed when it was not saved)."""

from __future__ import annotations

import base64
import decimal
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from headwater.devstack.stack import with_database
from headwater.ingestion.adapters.connectors.postgres import PostgresSource
from headwater.ingestion.adapters.connectors.postgres_cdc import parse_change
from headwater.ingestion.domain.connectors import (
    CHANGE_OP_COLUMN,
    CheckFailed,
    ReadBatch,
    ReadRequest,
    SyncMode,
)
from headwater.ingestion.testing_sources import SourcePostgres

pytestmark = pytest.mark.integration

PASSWORD = "replicator-secret"
PG = PostgresSource()


@pytest.fixture(scope="module")
async def database(pg_server: SourcePostgres) -> AsyncIterator[str]:
    name = f"cdc_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        admin = await asyncpg.connect(with_database(pg_server.admin_dsn, name))
        try:
            await admin.execute(
                f"""
                CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(10, 2), tags text[],
                                       photo bytea, active boolean);
                INSERT INTO accounts SELECT i, 'owner ' || i, i * 10, ARRAY['t' || i], NULL, true
                FROM generate_series(1, 50) i;
                CREATE TABLE noise (id int PRIMARY KEY);
                CREATE TABLE keyless (v int);
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') THEN
                        CREATE ROLE replicator LOGIN REPLICATION PASSWORD '{PASSWORD}';
                    END IF;
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'plain_reader') THEN
                        CREATE ROLE plain_reader LOGIN PASSWORD '{PASSWORD}';
                    END IF;
                END $$;
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO replicator, plain_reader;
                """
            )
        finally:
            await admin.close()
        yield name
    finally:
        await server.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1", name
        )
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


@pytest.fixture
async def admin(pg_server: SourcePostgres, database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(with_database(pg_server.admin_dsn, database))
    try:
        yield conn
    finally:
        await conn.close()


def config(pg_server: SourcePostgres, database: str, user: str = "replicator") -> dict[str, Any]:
    return pg_server.config(database, user, PASSWORD, ssl_mode="disable")


async def read_all(cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in PG.read(cfg, request)]


def rows_of(batches: list[ReadBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.records.to_pylist()]


async def test_discovery_offers_cdc_to_a_replicating_user_for_tables_with_a_key(
    pg_server: SourcePostgres, database: str
) -> None:
    streams = {s.name: s for s in await PG.discover(config(pg_server, database))}
    assert SyncMode.CDC in streams["accounts"].sync_modes
    assert SyncMode.CDC not in streams["keyless"].sync_modes
    plain = {s.name: s for s in await PG.discover(config(pg_server, database, "plain_reader"))}
    assert SyncMode.CDC not in plain["accounts"].sync_modes


async def test_cdc_copies_then_carries_each_change_once(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    cfg = config(pg_server, database)
    stream = next(s for s in await PG.discover(cfg) if s.name == "accounts")

    snapshot = await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.CDC, batch_rows=20))
    assert [b.records.num_rows for b in snapshot] == [20, 20, 10]
    assert [b.state is None for b in snapshot] == [True, True, False]  # the position comes with the last rows
    assert {r[CHANGE_OP_COLUMN] for r in rows_of(snapshot)} == {"insert"}
    assert sorted(r["id"] for r in rows_of(snapshot)) == list(range(1, 51))
    after_copy = snapshot[-1].state

    await admin.execute(
        """
        INSERT INTO accounts VALUES (51, 'it''s "new"', 1.5, ARRAY['a b', 'c'], '\\x0102', NULL);
        UPDATE accounts SET balance = balance + 1, active = false WHERE id = 2;
        INSERT INTO noise VALUES (1);
        UPDATE accounts SET id = 100 WHERE id = 3;
        DELETE FROM accounts WHERE id = 4;
        """
    )
    request = ReadRequest(stream=stream, sync_mode=SyncMode.CDC, state=after_copy)
    changed = await read_all(cfg, request)
    rows = rows_of(changed)
    assert [(r[CHANGE_OP_COLUMN], r["id"]) for r in rows] == [
        ("insert", 51),
        ("update", 2),
        ("delete", 3),
        ("update", 100),
        ("delete", 4),
    ]
    new = rows[0]
    assert new["owner"] == 'it\'s "new"'
    assert new["balance"] == decimal.Decimal("1.50")
    assert json.loads(new["tags"]) == ["a b", "c"]  # arrays as JSON, as a full read gives them
    assert base64.b64decode(new["photo"]) == b"\x01\x02"
    assert new["active"] is None
    assert rows[1]["balance"] == decimal.Decimal("21.00")
    assert rows[1]["active"] is False
    assert rows[4]["owner"] is None  # a delete carries the key only
    schema = changed[0].records.schema
    assert schema.names == [*(c.name for c in stream.columns), CHANGE_OP_COLUMN]

    # The sync died before saving: the same changes come again.
    assert rows_of(await read_all(cfg, request)) == rows
    # Saved: nothing more until something changes.
    saved = changed[-1].state
    assert await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.CDC, state=saved)) == []
    await admin.execute("UPDATE accounts SET owner = 'renamed' WHERE id = 1")
    later = await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.CDC, state=saved))
    assert [(r[CHANGE_OP_COLUMN], r["id"], r["owner"]) for r in rows_of(later)] == [("update", 1, "renamed")]

    # Commits to other tables only: no rows, but the position moves on (the server may recycle that WAL).
    await admin.execute("INSERT INTO noise VALUES (2)")
    quiet = await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.CDC, state=later[-1].state))
    assert [b.records.num_rows for b in quiet] == [0]
    assert quiet[0].state is not None
    assert later[-1].state is not None
    assert quiet[0].state["lsn"] != later[-1].state["lsn"]

    assert await PG.drop_replication_slot(cfg, stream) is True


async def test_cdc_says_what_is_missing(pg_server: SourcePostgres, database: str) -> None:
    streams = {s.name: s for s in await PG.discover(config(pg_server, database))}
    with pytest.raises(CheckFailed, match="REPLICATION") as failed:
        await read_all(
            config(pg_server, database, "plain_reader"),
            ReadRequest(stream=streams["accounts"], sync_mode=SyncMode.CDC),
        )
    assert failed.value.reason == "cdc_unavailable"
    with pytest.raises(CheckFailed, match="primary key"):
        await read_all(
            config(pg_server, database), ReadRequest(stream=streams["keyless"], sync_mode=SyncMode.CDC)
        )


def test_decoded_lines_with_quotes_keys_and_odd_names_parse() -> None:
    (change,) = parse_change(
        'table "my schema"."odd ""t""": INSERT: id[integer]:7 "a b"[text]:\'it\'\'s\' v[text[]]:\'{x}\' n[numeric]:null'
    )
    assert (change.namespace, change.table, change.op) == ("my schema", 'odd "t"', "insert")
    assert change.values == {"id": "7", "a b": "it's", "v": "{x}", "n": None}
    old, new = parse_change(
        "table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 f[boolean]:true"
    )
    assert (old.op, old.values) == ("delete", {"id": "1"})
    assert (new.op, new.values) == ("update", {"id": "2", "f": "t"})
    assert parse_change("BEGIN") == []
    assert parse_change("table public.t: TRUNCATE: (no-flags)") == []
