"""The MySQL/MariaDB source on a real MariaDB server (Debian's `mariadb-server`, started on a free port): check's
reasons, discovery, full-refresh reads with their types, incremental reads resuming from saved state."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncmy  # pyright: ignore[reportMissingTypeStubs]
import pytest

from headwater.ingestion.adapters.connectors.registry import source
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, Stream, SyncMode
from headwater.ingestion.testing import free_port
from headwater.ingestion.testing_sources import MariaDB

pytestmark = pytest.mark.integration

ROWS = 3000
PASSWORD = "reader-secret"
MY = source("mysql")
T0 = dt.datetime(2024, 1, 1)


def order_row(i: int) -> tuple[Any, ...]:
    return (
        i,
        i % 7,
        decimal.Decimal(i) * decimal.Decimal("1.25"),
        i / 8,
        None if i % 10 == 0 else ("" if i % 10 == 1 else f"label {i}"),
        T0 + dt.timedelta(seconds=i * 60.5),
        T0 + dt.timedelta(hours=i),
        (T0 + dt.timedelta(days=i)).date(),
        None if i % 3 == 0 else i % 2 == 0,
        json.dumps({"i": i}),
        None if i % 5 == 0 else i.to_bytes(2, "big"),
        f"{i % 800}:00:00",
        2**64 - i,
    )


class Admin:
    """The server's root over its socket, in UTC."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def execute(self, *statements: str) -> None:
        async with self.conn.cursor() as cur:
            for statement in statements:
                await cur.execute(statement)

    async def executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(statement, rows)

    async def fetchone(self, query: str) -> tuple[Any, ...]:
        async with self.conn.cursor() as cur:
            await cur.execute(query)
            return await cur.fetchone()


@pytest.fixture(scope="module")
async def admin(mariadb: MariaDB) -> AsyncIterator[Admin]:
    conn = await asyncmy.connect(  # pyright: ignore[reportUnknownMemberType]
        unix_socket=mariadb.socket,
        user="root",
        password="",
        autocommit=True,
        init_command="SET time_zone='+00:00'",
    )
    try:
        yield Admin(conn)
    finally:
        conn.close()


@pytest.fixture(scope="module")
async def database(admin: Admin) -> str:
    name = f"shop_{uuid.uuid4().hex[:8]}"
    await admin.execute(
        f"CREATE DATABASE {name}",
        f"""CREATE TABLE {name}.orders (
            id BIGINT PRIMARY KEY, qty INT NOT NULL, price DECIMAL(12, 2), ratio DOUBLE, label VARCHAR(100),
            placed_at TIMESTAMP(6) NULL, local_at DATETIME(6), day DATE, paid TINYINT(1), doc JSON,
            bin VARBINARY(16), dur TIME, big BIGINT UNSIGNED)""",
        f"CREATE VIEW {name}.big_orders AS SELECT id, qty FROM {name}.orders WHERE qty > 3",
        f"CREATE TABLE {name}.events (tenant VARCHAR(10), seq INT, at DATETIME(6), PRIMARY KEY (tenant, seq))",
    )
    await admin.executemany(
        f"INSERT INTO {name}.orders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [order_row(i) for i in range(1, ROWS + 1)],
    )
    for user in ("reader", "partial", "stranger", "tls_only"):
        await admin.execute(
            f"DROP USER IF EXISTS '{user}'@'%'", f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'"
        )
    await admin.execute(
        f"GRANT SELECT ON {name}.* TO 'reader'@'%'",
        f"GRANT INSERT ON {name}.orders TO 'partial'@'%'",
        "ALTER USER 'tls_only'@'%' REQUIRE SSL",
        f"GRANT SELECT ON {name}.* TO 'tls_only'@'%'",
    )
    return name


def config(mariadb: MariaDB, database: str, **changes: Any) -> dict[str, Any]:
    return {**mariadb.config(database, "reader", PASSWORD), **changes}


async def reason_of(cfg: dict[str, Any]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await MY.check(cfg)
    assert failed.value.message
    assert PASSWORD not in failed.value.message
    return failed.value.reason


async def read_all(cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in MY.read(cfg, request)]


def rows_of(batches: list[ReadBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.records.to_pylist()]


async def stream_named(cfg: dict[str, Any], name: str) -> Stream:
    return next(s for s in await MY.discover(cfg) if s.name == name)


async def test_check_passes_and_names_what_is_wrong(mariadb: MariaDB, database: str) -> None:
    await MY.check(config(mariadb, database))
    assert await reason_of(config(mariadb, database, port=free_port())) == "connection_refused"
    assert await reason_of(config(mariadb, database, password="wrong")) == "bad_credentials"
    assert await reason_of(config(mariadb, database, host="no-such-host.invalid")) == "unreachable_host"
    assert await reason_of(config(mariadb, database, username="stranger")) == "permission_denied"
    assert await reason_of(config(mariadb, database, username="partial")) == "permission_denied"
    assert await reason_of(config(mariadb, database, port=70000)) == "invalid_config"


async def test_check_tells_tls_apart(mariadb: MariaDB, database: str) -> None:
    await MY.check(config(mariadb, database, tls_mode="required"))  # encrypted, the certificate not verified
    assert (
        await reason_of(config(mariadb, database, tls_mode="verify_identity")) == "tls_failed"
    )  # self-signed
    assert await reason_of(config(mariadb, database, username="tls_only")) == "tls_required"
    await MY.check(config(mariadb, database, username="tls_only", tls_mode="required"))
    assert (
        await reason_of(config(mariadb, database, username="tls_only", password="wrong")) == "bad_credentials"
    )


def test_the_spec_marks_the_password_secret() -> None:
    spec = MY.spec()
    assert spec["properties"]["password"]["secret"] is True
    assert spec["properties"]["port"]["default"] == 3306
    assert spec["properties"]["tls_mode"]["enum"] == ["disabled", "required", "verify_identity"]


async def test_discover_lists_tables_and_views_with_types(mariadb: MariaDB, database: str) -> None:
    streams = {s.name: s for s in await MY.discover(config(mariadb, database))}
    assert set(streams) == {"orders", "big_orders", "events"}
    orders = streams["orders"]
    assert orders.namespace == database
    assert orders.primary_key == ("id",)
    types = {c.name: (c.type, c.format) for c in orders.columns}
    assert types["id"] == ("integer", None)
    assert types["price"] == ("number", "decimal")
    assert types["placed_at"] == ("string", "date-time")
    assert types["local_at"] == ("string", "date-time-local")
    assert types["day"] == ("string", "date")
    assert types["bin"] == ("string", "byte")
    assert types["dur"] == ("string", "time")
    assert {c.name: c.nullable for c in orders.columns}["qty"] is False
    assert set(orders.cursor_candidates) == {
        "id",
        "qty",
        "price",
        "ratio",
        "placed_at",
        "local_at",
        "day",
        "paid",
        "big",
    }
    assert orders.sync_modes == (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)
    assert streams["events"].primary_key == ("tenant", "seq")


async def test_full_refresh_reads_every_row_with_its_type(
    mariadb: MariaDB, database: str, admin: Admin
) -> None:
    cfg = config(mariadb, database)
    batches = await read_all(cfg, ReadRequest(stream=await stream_named(cfg, "orders"), batch_rows=1000))
    assert [b.records.num_rows for b in batches] == [1000, 1000, 1000]
    schema = batches[0].records.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("price").type == pa.decimal128(12, 2)
    assert schema.field("placed_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("big").type == pa.uint64()
    rows = {r["id"]: r for r in rows_of(batches)}
    assert len(rows) == ROWS
    r = rows[7]
    assert r["price"] == decimal.Decimal("8.75")
    assert r["ratio"] == 7 / 8
    assert r["label"] == "label 7"
    assert r["placed_at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=7 * 60.5)
    assert r["local_at"] == dt.datetime(2024, 1, 1, 7)
    assert r["day"] == dt.date(2024, 1, 8)
    assert r["paid"] == 0
    assert json.loads(r["doc"]) == {"i": 7}
    assert r["bin"] == "AAc="
    assert r["dur"] == "07:00:00"
    assert r["big"] == 2**64 - 7
    assert rows[10]["label"] is None
    assert rows[11]["label"] == ""
    assert rows[5]["bin"] is None
    total = await admin.fetchone(f"SELECT SUM(qty), SUM(price), COUNT(label) FROM {database}.orders")
    assert sum(r["qty"] for r in rows.values()) == total[0]
    assert sum(r["price"] for r in rows.values()) == total[1]
    assert sum(r["label"] is not None for r in rows.values()) == total[2]


async def test_a_view_and_an_empty_table_read_in_full(mariadb: MariaDB, database: str, admin: Admin) -> None:
    await admin.execute(f"CREATE TABLE IF NOT EXISTS {database}.nothing (a INT, b TEXT)")
    cfg = config(mariadb, database)
    view = rows_of(await read_all(cfg, ReadRequest(stream=await stream_named(cfg, "big_orders"))))
    assert len(view) == sum(1 for i in range(1, ROWS + 1) if i % 7 > 3)
    empty = await read_all(cfg, ReadRequest(stream=await stream_named(cfg, "nothing")))
    assert [b.records.num_rows for b in empty] == [0]
    assert empty[0].records.schema.names == ["a", "b"]
    ghost = Stream(namespace=database, name="ghost", columns=())
    with pytest.raises(CheckFailed) as failed:
        await read_all(cfg, ReadRequest(stream=ghost))
    assert failed.value.reason == "not_found"


async def test_incremental_reads_resume_from_state(mariadb: MariaDB, database: str, admin: Admin) -> None:
    await admin.executemany(
        f"INSERT INTO {database}.events VALUES (%s, %s, %s)",
        [(f"t{i % 3}", i, dt.datetime(2024, 6, 1) + dt.timedelta(minutes=i)) for i in range(1, 2501)],
    )
    cfg = config(mariadb, database)
    stream = await stream_named(cfg, "events")
    request = ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="at", batch_rows=1000)
    first = await read_all(cfg, request)
    assert [b.records.num_rows for b in first] == [1000, 1000, 500]
    assert [r["seq"] for r in rows_of(first)] == list(range(1, 2501))
    state = first[-1].state
    assert state == {"cursor_field": "at", "cursor": "2024-06-02T17:40:00", "keys_at_cursor": [["t1", 2500]]}

    resume = ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="at", state=state)
    assert await read_all(cfg, resume) == []
    await admin.execute(
        f"INSERT INTO {database}.events VALUES ('t2', 2500, '2024-06-02 17:40:00'), ('t0', 2501, '2024-07-01'),"
        " ('t1', 2502, NULL)"
    )
    second = await read_all(cfg, resume)
    assert [(r["tenant"], r["seq"]) for r in rows_of(second)] == [("t2", 2500), ("t0", 2501)]
    assert second[-1].state == {
        "cursor_field": "at",
        "cursor": "2024-07-01T00:00:00",
        "keys_at_cursor": [["t0", 2501]],
    }


async def test_a_timestamp_cursor_resumes_in_utc(mariadb: MariaDB, database: str) -> None:
    cfg = config(mariadb, database)
    stream = await stream_named(cfg, "orders")
    request = ReadRequest(
        stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="placed_at", batch_rows=2990
    )
    first = await read_all(cfg, request)
    state = first[0].state
    assert state is not None
    assert (
        state["cursor"]
        == (dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=2990 * 60.5)).isoformat()
    )
    rest = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="placed_at", state=state)
    )
    assert [r["id"] for r in rows_of(rest)] == list(range(2991, ROWS + 1))


async def test_a_tie_split_across_batches_is_read_once_after_a_resume(
    mariadb: MariaDB, database: str, admin: Admin
) -> None:
    table = f"tie_{uuid.uuid4().hex[:6]}"
    await admin.execute(f"CREATE TABLE {database}.{table} (id INT PRIMARY KEY, v DECIMAL(6, 1) NOT NULL)")
    await admin.executemany(
        f"INSERT INTO {database}.{table} VALUES (%s, %s)",
        [(i, "1.5" if i <= 2 else "2.5") for i in range(1, 8)],
    )
    cfg = config(mariadb, database)
    stream = await stream_named(cfg, table)
    batches = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="v", batch_rows=4)
    )
    crashed = batches[0].state  # ids 1..4: the group v = 2.5 is cut after ids 3 and 4
    assert crashed == {"cursor_field": "v", "cursor": "2.5", "keys_at_cursor": [[3], [4]]}
    resumed = await read_all(
        cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="v", state=crashed)
    )
    assert [r["id"] for r in rows_of(resumed)] == [5, 6, 7]
