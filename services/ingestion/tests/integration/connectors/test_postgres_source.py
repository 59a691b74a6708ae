"""The Postgres source on a real Postgres that checks passwords and serves TLS: check's reasons, discovery,
full-refresh reads with their types, incremental reads resuming from saved state (ties at the cursor included)."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from headwater.devstack.stack import with_database
from headwater.ingestion.adapters.connectors.postgres import row_boundary
from headwater.ingestion.adapters.connectors.registry import UnknownConnector, source, sources
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, Stream, SyncMode
from headwater.ingestion.testing import free_port
from headwater.ingestion.testing_sources import TLS_ONLY_ROLE, SourcePostgres

pytestmark = pytest.mark.integration

ROWS = 3000
PASSWORD = "reader-secret"
PG = source("postgres")

SETUP = f"""
CREATE TABLE public.orders (
    id bigint PRIMARY KEY,
    qty integer NOT NULL,
    price numeric(12, 2),
    amount numeric,
    ratio double precision,
    label text,
    placed_at timestamptz NOT NULL,
    local_at timestamp,
    day date,
    paid boolean,
    doc jsonb,
    tags text[],
    blob bytea
);
INSERT INTO public.orders
SELECT i, i % 7, (i * 1.25)::numeric(12, 2), i::numeric / 3, i / 8.0,
       CASE WHEN i % 10 = 0 THEN NULL WHEN i % 10 = 1 THEN '' ELSE 'label ' || i END,
       timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i * 60.5),
       timestamp '2024-01-01 00:00:00' + make_interval(hours => i),
       date '2024-01-01' + i,
       CASE WHEN i % 3 = 0 THEN NULL ELSE i % 2 = 0 END,
       jsonb_build_object('i', i, 'even', i % 2 = 0),
       ARRAY['a', i::text],
       CASE WHEN i % 5 = 0 THEN NULL ELSE decode(lpad(to_hex(i), 4, '0'), 'hex') END
FROM generate_series(1, {ROWS}) AS i;
INSERT INTO public.orders (id, qty, placed_at, label) VALUES
    (100001, 1, '2030-01-01 00:00:00+00', E'line one\\nline "two", with a comma');
CREATE VIEW public.big_orders AS SELECT id, qty, price FROM public.orders WHERE qty > 3;
CREATE TABLE public.events (seq integer NOT NULL, tenant text NOT NULL, at timestamptz, PRIMARY KEY (tenant, seq));
CREATE SCHEMA locked;
CREATE TABLE locked.salaries (who text PRIMARY KEY, amount numeric);
CREATE ROLE reader LOGIN PASSWORD '{PASSWORD}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
GRANT USAGE ON SCHEMA locked TO reader;
CREATE ROLE {TLS_ONLY_ROLE} LOGIN PASSWORD '{PASSWORD}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {TLS_ONLY_ROLE};
CREATE ROLE stranger LOGIN PASSWORD '{PASSWORD}';
"""


@pytest.fixture(scope="module")
async def database(pg_server: SourcePostgres) -> AsyncIterator[str]:
    name = f"shop_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        await server.execute(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
        admin = await asyncpg.connect(with_database(pg_server.admin_dsn, name))
        try:
            # Roles are cluster-wide: each module's database gets them anew.
            for role in ("reader", TLS_ONLY_ROLE, "stranger"):
                await admin.execute(f"DROP OWNED BY {role}") if await admin.fetchval(
                    "SELECT 1 FROM pg_roles WHERE rolname = $1", role
                ) else None
                await admin.execute(f"DROP ROLE IF EXISTS {role}")
            await admin.execute(SETUP)
            await admin.execute(f'GRANT CONNECT ON DATABASE "{name}" TO reader, {TLS_ONLY_ROLE}')
        finally:
            await admin.close()
        yield name
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


@pytest.fixture
async def admin(pg_server: SourcePostgres, database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(with_database(pg_server.admin_dsn, database))
    try:
        yield conn
    finally:
        await conn.close()


def config(pg_server: SourcePostgres, database: str, **changes: Any) -> dict[str, Any]:
    return {**pg_server.config(database, "reader", PASSWORD, ssl_mode="disable"), **changes}


async def reason_of(cfg: dict[str, Any]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await PG.check(cfg)
    assert failed.value.message  # a sentence, for a person
    assert PASSWORD not in failed.value.message
    return failed.value.reason


async def read_all(cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in PG.read(cfg, request)]


def rows_of(batches: list[ReadBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.records.to_pylist()]


async def stream_named(cfg: dict[str, Any], name: str) -> Stream:
    return next(s for s in await PG.discover(cfg) if s.name == name)


# --- check ---------------------------------------------------------------------------------------------------------


async def test_a_good_configuration_checks(pg_server: SourcePostgres, database: str) -> None:
    await PG.check(config(pg_server, database))
    await PG.check(config(pg_server, database, ssl_mode="prefer"))  # falls back to a plain connection


async def test_check_names_what_is_wrong(pg_server: SourcePostgres, database: str) -> None:
    assert await reason_of(config(pg_server, database, port=free_port())) == "connection_refused"
    assert await reason_of(config(pg_server, database, password="wrong")) == "bad_credentials"
    assert await reason_of(config(pg_server, database, username="nobody_here")) == "bad_credentials"
    assert await reason_of(config(pg_server, database, host="no-such-host.invalid")) == "unreachable_host"
    assert await reason_of(config(pg_server, "no_such_database")) == "not_found"
    assert await reason_of(config(pg_server, database, schemas=["nowhere"])) == "not_found"


async def test_check_reports_missing_permissions(pg_server: SourcePostgres, database: str) -> None:
    # USAGE on the schema but SELECT on none of its tables
    assert await reason_of(config(pg_server, database, schemas=["locked"])) == "permission_denied"
    # no CONNECT on the database
    assert await reason_of(config(pg_server, database, username="stranger")) == "permission_denied"


async def test_check_says_when_tls_is_required(pg_server: SourcePostgres, database: str) -> None:
    plain = config(pg_server, database, username=TLS_ONLY_ROLE)
    assert await reason_of(plain) == "tls_required"
    # and the other way round: TLS asked of a server that has none
    assert await reason_of(config(pg_server, database, ssl_mode="require")) == "tls_unavailable"


async def test_a_configuration_off_the_spec_names_the_field(pg_server: SourcePostgres, database: str) -> None:
    with pytest.raises(CheckFailed) as failed:
        await PG.check(config(pg_server, database, port="not a port"))
    assert failed.value.reason == "invalid_config"
    assert "$.port" in failed.value.message
    with pytest.raises(CheckFailed, match=r"\$.ssl_mode"):
        await PG.check(config(pg_server, database, ssl_mode="sometimes"))


def test_the_spec_marks_the_password_secret_and_the_registry_knows_its_kinds() -> None:
    spec = PG.spec()
    assert spec["properties"]["password"]["format"] == "password"
    assert spec["properties"]["password"]["secret"] is True
    assert set(spec["required"]) == {"host", "database", "username"}
    assert spec["properties"]["port"]["default"] == 5432
    with pytest.raises(UnknownConnector, match=r"'db2'.*postgres"):
        source("db2")
    assert set(sources()) == {"postgres", "mysql", "files", "sftp", "http_api", "mongodb", "oracle"}


# --- discover ------------------------------------------------------------------------------------------------------


async def test_discover_lists_readable_tables_and_views_with_types(
    pg_server: SourcePostgres, database: str
) -> None:
    streams = {
        s.name: s for s in await PG.discover(config(pg_server, database, schemas=["public", "locked"]))
    }
    assert set(streams) == {"orders", "big_orders", "events"}  # locked.salaries is not readable by `reader`
    orders = streams["orders"]
    assert orders.namespace == "public"
    assert orders.primary_key == ("id",)
    types = {c.name: (c.type, c.format, c.nullable) for c in orders.columns}
    assert types == {
        "id": ("integer", None, False),
        "qty": ("integer", None, False),
        "price": ("number", "decimal", True),
        "amount": ("string", "decimal", True),
        "ratio": ("number", None, True),
        "label": ("string", None, True),
        "placed_at": ("string", "date-time", False),
        "local_at": ("string", "date-time-local", True),
        "day": ("string", "date", True),
        "paid": ("boolean", None, True),
        "doc": ("object", "json", True),
        "tags": ("array", "json", True),
        "blob": ("string", "byte", True),
    }
    assert set(orders.cursor_candidates) == {
        "id",
        "qty",
        "price",
        "amount",
        "ratio",
        "label",
        "placed_at",
        "local_at",
        "day",
    }
    assert orders.sync_modes == (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)
    assert streams["events"].primary_key == ("tenant", "seq")
    assert streams["big_orders"].primary_key == ()
    assert [c.name for c in streams["big_orders"].columns] == ["id", "qty", "price"]


# --- full refresh --------------------------------------------------------------------------------------------------


async def test_full_refresh_reads_every_row_with_its_type(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    cfg = config(pg_server, database)
    stream = await stream_named(cfg, "orders")
    batches = await read_all(cfg, ReadRequest(stream=stream, batch_rows=1000))
    assert [b.records.num_rows for b in batches] == [1000, 1000, 1000, 1]
    assert all(b.state is None for b in batches)
    schema = batches[0].records.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("qty").type == pa.int32()
    assert schema.field("price").type == pa.decimal128(12, 2)
    assert schema.field("placed_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("local_at").type == pa.timestamp("us")
    assert schema.field("day").type == pa.date32()
    assert schema.field("paid").type == pa.bool_()

    rows = {r["id"]: r for r in rows_of(batches)}
    assert len(rows) == ROWS + 1
    r = rows[7]
    assert r["qty"] == 0
    assert r["price"] == decimal.Decimal("8.75")
    assert decimal.Decimal(r["amount"]) == decimal.Decimal(7) / 3 or r["amount"].startswith("2.3333")
    assert r["ratio"] == 7 / 8
    assert r["label"] == "label 7"
    assert r["placed_at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=7 * 60.5)
    assert r["local_at"] == dt.datetime(2024, 1, 1, 7)
    assert r["day"] == dt.date(2024, 1, 8)
    assert r["paid"] is False
    assert json.loads(r["doc"]) == {"i": 7, "even": False}
    assert json.loads(r["tags"]) == ["a", "7"]
    assert r["blob"] == "AAc="  # base64 of 0x0007
    assert rows[10]["label"] is None  # NULL and the empty string stay apart
    assert rows[11]["label"] == ""
    assert rows[3]["paid"] is None
    assert rows[5]["blob"] is None
    assert rows[100001]["label"] == 'line one\nline "two", with a comma'

    expected = await admin.fetchrow(
        "SELECT sum(qty) AS qty, sum(price) AS price, count(label) AS labels, count(paid) FILTER (WHERE paid) AS paid"
        " FROM orders"
    )
    assert expected is not None
    assert sum(r["qty"] for r in rows.values()) == expected["qty"]
    assert sum(r["price"] for r in rows.values() if r["price"] is not None) == expected["price"]
    assert sum(r["label"] is not None for r in rows.values()) == expected["labels"]
    assert sum(r["paid"] is True for r in rows.values()) == expected["paid"]


async def test_a_view_and_a_column_subset_read_in_full(pg_server: SourcePostgres, database: str) -> None:
    cfg = config(pg_server, database)
    view = await stream_named(cfg, "big_orders")
    rows = rows_of(await read_all(cfg, ReadRequest(stream=view)))
    assert len(rows) == sum(1 for i in range(1, ROWS + 1) if i % 7 > 3)
    orders = await stream_named(cfg, "orders")
    subset = Stream(namespace="public", name="orders", columns=orders.columns[:2])
    batches = await read_all(cfg, ReadRequest(stream=subset))
    assert batches[0].records.schema.names == ["id", "qty"]


async def test_an_empty_table_reads_as_one_empty_batch_with_its_shape(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    await admin.execute(
        "CREATE TABLE public.nothing (a int, b text); GRANT SELECT ON public.nothing TO reader"
    )
    cfg = config(pg_server, database)
    batches = await read_all(cfg, ReadRequest(stream=await stream_named(cfg, "nothing")))
    assert [b.records.num_rows for b in batches] == [0]
    assert batches[0].records.schema.names == ["a", "b"]


async def test_reading_a_table_that_is_gone_fails_clearly(pg_server: SourcePostgres, database: str) -> None:
    cfg = config(pg_server, database)
    ghost = Stream(namespace="public", name="ghost", columns=())
    with pytest.raises(CheckFailed, match=r"public\.ghost") as failed:
        await read_all(cfg, ReadRequest(stream=ghost))
    assert failed.value.reason == "not_found"


# --- incremental ---------------------------------------------------------------------------------------------------


async def test_incremental_reads_resume_from_state(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    await admin.execute(
        "INSERT INTO events SELECT i, 't' || (i % 3), timestamptz '2024-06-01 00:00+00' + i * interval '1 minute'"
        " FROM generate_series(1, 2500) i;"
        "GRANT SELECT ON events TO reader"
    )
    cfg = config(pg_server, database)
    stream = await stream_named(cfg, "events")
    first = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="at", batch_rows=1000)
    )
    assert [b.records.num_rows for b in first] == [1000, 1000, 500]
    seqs = [r["seq"] for r in rows_of(first)]
    assert seqs == list(range(1, 2501))  # ordered by the cursor
    state = first[-1].state
    assert state is not None
    assert state["cursor"] == "2024-06-02T17:40:00+00:00"
    assert state["keys_at_cursor"] == [["t1", 2500]]

    # Nothing new: nothing read, and the state holds.
    assert (
        await read_all(
            cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="at", state=state)
        )
        == []
    )

    # New rows, one of them at the very cursor value already read (a tie `>` alone would lose).
    await admin.execute(
        "INSERT INTO events VALUES (2500, 't2', '2024-06-02 17:40:00+00'), (2501, 't0', '2024-07-01 00:00+00'),"
        " (2502, 't1', NULL)"
    )
    second = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="at", state=state)
    )
    assert [(r["tenant"], r["seq"]) for r in rows_of(second)] == [("t2", 2500), ("t0", 2501)]
    assert second[-1].state == {
        "cursor_field": "at",
        "cursor": "2024-07-01T00:00:00+00:00",
        "keys_at_cursor": [["t0", 2501]],
    }


async def test_a_tie_split_across_batches_is_read_once_after_a_resume(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    table = f"tie_{uuid.uuid4().hex[:6]}"
    await admin.execute(
        f"CREATE TABLE {table} (id int PRIMARY KEY, v int NOT NULL);"
        f"INSERT INTO {table} SELECT i, CASE WHEN i <= 2 THEN 1 ELSE 2 END FROM generate_series(1, 6) i;"
        f"GRANT SELECT ON {table} TO reader"
    )
    cfg = config(pg_server, database)
    stream = await stream_named(cfg, table)
    request = ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="v", batch_rows=3)
    batches = await read_all(cfg, request)
    # The first batch ends inside the group v = 2: a crash there saves only its state.
    crashed_state = batches[0].state
    assert crashed_state == {"cursor_field": "v", "cursor": 2, "keys_at_cursor": [[3]]}
    resumed = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="v", state=crashed_state)
    )
    assert [r["id"] for r in rows_of(resumed)] == [4, 5, 6]
    assert resumed[-1].state == {"cursor_field": "v", "cursor": 2, "keys_at_cursor": [[3], [4], [5], [6]]}


async def test_a_cursor_that_cannot_order_is_refused(pg_server: SourcePostgres, database: str) -> None:
    cfg = config(pg_server, database)
    stream = await stream_named(cfg, "orders")
    with pytest.raises(CheckFailed, match="doc") as failed:
        await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="doc"))
    assert failed.value.reason == "invalid_config"


async def test_a_read_stopped_early_lets_go_of_its_connection(
    pg_server: SourcePostgres, database: str, admin: asyncpg.Connection
) -> None:
    cfg = config(pg_server, database)
    reading = PG.read(cfg, ReadRequest(stream=await stream_named(cfg, "orders"), batch_rows=100))
    first = await anext(reading)
    assert first.records.num_rows == 100
    await reading.aclose()  # pyright: ignore[reportAttributeAccessIssue]  (an async generator)
    deadline = asyncio.get_running_loop().time() + 5
    while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE usename = 'reader'"):
        assert asyncio.get_running_loop().time() < deadline, "the reader's session outlived the read"
        await asyncio.sleep(0.05)


def test_rows_are_cut_only_outside_quotes() -> None:
    assert row_boundary(bytearray(b'1,"a\nb"\n2,"c')) == len(b'1,"a\nb"\n')
    assert row_boundary(bytearray(b'1,"a\nb')) == 0
    assert row_boundary(bytearray(b'1,""""\n2,x\n')) == len(b'1,""""\n2,x\n')
