"""The Postgres destination on a real Postgres: tables made from Arrow schemas, appends, upserts by key,
overwrites swapped in at commit, columns added as batches bring them, and `check`'s reasons."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import pytest

from headwater.devstack.stack import Stack
from headwater.ingestion.adapters.connectors.postgres_destination import PostgresDestination
from headwater.ingestion.arrow import RecordBatch, pa
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteTarget
from headwater.ingestion.testing import free_port

pytestmark = pytest.mark.integration

destination = PostgresDestination()


async def stream_of(batches: Iterable[RecordBatch]) -> AsyncIterator[RecordBatch]:
    for batch in batches:
        yield batch


def batch(**columns: Any) -> RecordBatch:
    return pa.RecordBatch.from_pydict(columns)


def new_target(**fields: Any) -> WriteTarget:
    return WriteTarget(namespace=f"dst_{uuid.uuid4().hex[:8]}", table="orders", **fields)


async def rows_of(db: asyncpg.Connection, target: WriteTarget, order: str = "id") -> list[dict[str, Any]]:
    records = await db.fetch(f'SELECT * FROM "{target.namespace}"."{target.table}" ORDER BY {order}')
    return [dict(r) for r in records]


async def column_types(db: asyncpg.Connection, target: WriteTarget) -> dict[str, str]:
    records = await db.fetch(
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        f'"{target.namespace}"."{target.table}"',
    )
    return {r["attname"]: r["type"] for r in records}


async def test_the_table_is_created_with_the_arrow_schemas_types_and_holds_the_values(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    at = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    columns = {
        "id": pa.array([1, 2], pa.int64()),
        "small": pa.array([3, None], pa.int16()),
        "qty": pa.array([7, 8], pa.int32()),
        "price": pa.array([1.5, None], pa.float64()),
        "amount": pa.array([decimal.Decimal("12.34"), decimal.Decimal("-0.01")], pa.decimal128(10, 2)),
        "paid": pa.array([True, False]),
        "note": pa.array(['a, "quoted"\nline', ""]),
        "at": pa.array([at, None], pa.timestamp("us", tz="UTC")),
        "local_at": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), None], pa.timestamp("ms")),
        "day": pa.array([dt.date(2026, 1, 2), None], pa.date32()),
        "raw": pa.array([b"\x00\xffab", None], pa.binary()),
        "tags": pa.array([["x", "y"], None], pa.list_(pa.string())),
        "meta": pa.array([{"k": 1}, {"k": None}], pa.struct([("k", pa.int64())])),
        "kind": pa.array(["a", "b"]).dictionary_encode(),
    }
    target = new_target()
    summary = await destination.write(
        warehouse_config, target, stream_of([pa.RecordBatch.from_pydict(columns)])
    )

    assert summary.rows_written == 2
    assert summary.location == f"{target.namespace}.orders"
    assert await column_types(db, target) == {
        "id": "bigint",
        "small": "smallint",
        "qty": "integer",
        "price": "double precision",
        "amount": "numeric(10,2)",
        "paid": "boolean",
        "note": "text",
        "at": "timestamp with time zone",
        "local_at": "timestamp without time zone",
        "day": "date",
        "raw": "bytea",
        "tags": "jsonb",
        "meta": "jsonb",
        "kind": "text",
    }
    first, second = await rows_of(db, target)
    assert first | {"tags": json.loads(first["tags"]), "meta": json.loads(first["meta"])} == {
        "id": 1,
        "small": 3,
        "qty": 7,
        "price": 1.5,
        "amount": decimal.Decimal("12.34"),
        "paid": True,
        "note": 'a, "quoted"\nline',
        "at": at,
        "local_at": dt.datetime(2026, 1, 2, 3, 4, 5),
        "day": dt.date(2026, 1, 2),
        "raw": b"\x00\xffab",
        "tags": ["x", "y"],
        "meta": {"k": 1},
        "kind": "a",
    }
    assert second | {"meta": json.loads(second["meta"])} == {
        "id": 2,
        "small": None,
        "qty": 8,
        "price": None,
        "amount": decimal.Decimal("-0.01"),
        "paid": False,
        "note": "",
        "at": None,
        "local_at": None,
        "day": None,
        "raw": None,
        "tags": None,
        "meta": {"k": None},
        "kind": "b",
    }


async def test_append_adds_rows_batch_after_batch(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target()
    await destination.write(warehouse_config, target, stream_of([batch(id=[1, 2]), batch(id=[3])]))
    summary = await destination.write(warehouse_config, target, stream_of([batch(id=[4])]))

    assert summary.rows_written == 1
    assert [r["id"] for r in await rows_of(db, target)] == [1, 2, 3, 4]


async def test_a_rewrite_of_the_same_rows_by_primary_key_changes_nothing_and_updates_win(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(primary_key=("id",))
    rows = batch(id=[1, 2, 3], status=["new", "new", "new"])
    await destination.write(warehouse_config, target, stream_of([rows]))
    await destination.write(warehouse_config, target, stream_of([rows]))
    assert len(await rows_of(db, target)) == 3

    # An update of row 2, a new row 4, and row 4 twice in one batch: the last one read wins.
    changes = batch(id=[2, 4, 4], status=["paid", "new", "shipped"])
    await destination.write(warehouse_config, target, stream_of([changes]))

    assert [(r["id"], r["status"]) for r in await rows_of(db, target)] == [
        (1, "new"),
        (2, "paid"),
        (3, "new"),
        (4, "shipped"),
    ]
    primary_key = await db.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
        f'"{target.namespace}"."orders"',
    )
    assert primary_key == "PRIMARY KEY (id)"


async def test_a_new_table_gets_its_primary_key_after_the_load_keeping_the_last_row_of_a_key(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    for mode in ("append", "overwrite"):
        target = new_target(primary_key=("id", "region"), mode=mode)
        batches = [
            batch(id=[1, 2, 1], region=["eu", "eu", "us"], v=["a", "b", "c"]),
            batch(id=[2, 3], region=["eu", "eu"], v=["B", "d"]),
        ]
        summary = await destination.write(warehouse_config, target, stream_of(batches))

        assert summary.rows_written == 5
        rows = await rows_of(db, target, order="id, region")
        assert [(r["id"], r["region"], r["v"]) for r in rows] == [
            (1, "eu", "a"),
            (1, "us", "c"),
            (2, "eu", "B"),
            (3, "eu", "d"),
        ]
        primary_key = await db.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1)"
            " AND contype = 'p'",
            f'"{target.namespace}"."orders"',
        )
        assert primary_key == "PRIMARY KEY (id, region)"


async def test_a_primary_key_holding_nulls_is_refused(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(primary_key=("id",))
    with pytest.raises(WriteFailed) as failed:
        await destination.write(warehouse_config, target, stream_of([batch(id=[1, None])]))

    assert failed.value.reason == "invalid_config"
    assert await db.fetchval("SELECT to_regclass($1)", f'"{target.namespace}"."orders"') is None


async def test_overwrite_replaces_the_rows_at_commit_and_keeps_the_table(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(primary_key=("id",))
    await destination.write(warehouse_config, target, stream_of([batch(id=[1, 2, 3], v=["a", "b", "c"])]))
    await db.execute(
        f'CREATE VIEW "{target.namespace}".orders_view AS SELECT * FROM "{target.namespace}".orders'
    )

    seen_during: list[int] = []

    async def refreshed() -> AsyncIterator[RecordBatch]:
        yield batch(id=[2, 9], v=["B", "x"])
        # Mid-refresh, readers still see every old row.
        seen_during.append(await db.fetchval(f'SELECT count(*) FROM "{target.namespace}".orders'))
        yield batch(id=[9, 10], v=["X", "y"], extra=[True, None])

    overwrite = WriteTarget(namespace=target.namespace, table="orders", primary_key=("id",), mode="overwrite")
    summary = await destination.write(warehouse_config, overwrite, refreshed())

    assert summary.rows_written == 4
    assert seen_during == [3]
    assert [(r["id"], r["v"], r["extra"]) for r in await rows_of(db, target)] == [
        (2, "B", None),
        (9, "X", True),
        (10, "y", None),
    ]
    assert await db.fetchval(f'SELECT count(*) FROM "{target.namespace}".orders_view') == 3

    await destination.write(warehouse_config, overwrite, stream_of([]))
    assert await rows_of(db, target) == []


async def test_overwrite_of_a_table_other_tables_reference_deletes_its_rows(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(primary_key=("id",))
    await destination.write(warehouse_config, target, stream_of([batch(id=[1, 2])]))
    await db.execute(
        f'CREATE TABLE "{target.namespace}".lines (order_id bigint REFERENCES "{target.namespace}".orders (id))'
    )

    overwrite = WriteTarget(namespace=target.namespace, table="orders", primary_key=("id",), mode="overwrite")
    await destination.write(warehouse_config, overwrite, stream_of([batch(id=[2, 3])]))

    assert [r["id"] for r in await rows_of(db, target)] == [2, 3]


async def test_overwrite_creates_a_missing_table(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(mode="overwrite")
    await destination.write(warehouse_config, target, stream_of([batch(id=[1]), batch(id=[2], name=["b"])]))

    assert await column_types(db, target) == {"id": "bigint", "name": "text"}
    assert [(r["id"], r["name"]) for r in await rows_of(db, target)] == [(1, None), (2, "b")]


async def test_a_batch_bringing_a_new_column_adds_it(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target(primary_key=("id",))
    await destination.write(warehouse_config, target, stream_of([batch(id=[1], name=["a"])]))
    await destination.write(
        warehouse_config,
        target,
        stream_of([batch(id=[2], name=["b"], score=pa.array([0.5], pa.float32())), batch(id=[3])]),
    )

    assert await column_types(db, target) == {"id": "bigint", "name": "text", "score": "real"}
    assert [(r["id"], r["name"], r["score"]) for r in await rows_of(db, target)] == [
        (1, "a", None),
        (2, "b", 0.5),
        (3, None, None),
    ]


async def test_rows_that_do_not_fit_the_columns_fail_the_whole_write(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    target = new_target()
    await destination.write(warehouse_config, target, stream_of([batch(id=[1])]))

    with pytest.raises(WriteFailed) as failed:
        await destination.write(
            warehouse_config, target, stream_of([batch(id=[2]), batch(id=pa.array(["not a number"]))])
        )

    assert failed.value.reason == "type_mismatch"
    assert "invalid input syntax" in failed.value.message
    assert [r["id"] for r in await rows_of(db, target)] == [1]


async def test_names_postgres_cannot_hold_are_refused(warehouse_config: dict[str, Any]) -> None:
    with pytest.raises(WriteFailed) as failed:
        await destination.write(warehouse_config, new_target(), stream_of([batch(**{"x" * 70: [1]})]))
    assert failed.value.reason == "invalid_name"

    with pytest.raises(WriteFailed) as failed:
        await destination.write(
            warehouse_config, new_target(primary_key=("missing",)), stream_of([batch(id=[1])])
        )
    assert failed.value.reason == "invalid_config"


async def test_check_passes_on_a_database_the_user_may_write(warehouse_config: dict[str, Any]) -> None:
    await destination.check(warehouse_config | {"schema": f"new_{uuid.uuid4().hex[:6]}"})


async def test_check_says_why_it_cannot_connect(warehouse_config: dict[str, Any]) -> None:
    cases = {
        "connection_refused": warehouse_config | {"port": free_port()},
        "not_found": warehouse_config | {"database": "no_such_database"},
        "bad_credentials": warehouse_config | {"username": "no_such_user"},
        "unreachable_host": warehouse_config | {"host": "no-such-host.invalid"},
        "invalid_config": warehouse_config | {"port": 70000},
    }
    for reason, config in cases.items():
        with pytest.raises(CheckFailed) as failed:
            await destination.check(config)
        assert failed.value.reason == reason, failed.value.message
    refused = await _reason(warehouse_config | {"port": 1})
    assert "refused the connection" in refused.message


async def test_check_answers_within_ten_seconds_when_the_server_never_answers(
    warehouse_config: dict[str, Any],
) -> None:
    # A port that accepts connections (the kernel's backlog) and never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        failed = await _reason(warehouse_config | {"host": "127.0.0.1", "port": silent.getsockname()[1]})

    assert failed.reason == "timeout", failed.message
    assert time.monotonic() - started < 10


async def _reason(config: dict[str, Any]) -> CheckFailed:
    with pytest.raises(CheckFailed) as failed:
        await destination.check(config)
    return failed.value


async def test_check_says_when_the_password_is_wrong(
    stack: Stack, warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    if stack.config.external_postgres_admin_dsn:
        pytest.skip("the server's pg_hba.conf is not ours to change")
    # The session's server trusts local connections; this role alone must give a password.
    role = f"pw_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'right-password'")
    await db.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    hba = stack.postgres.data_dir / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    await db.execute("SELECT pg_reload_conf()")

    failed = await _reason(warehouse_config | {"username": role, "password": "wrong-password"})
    assert failed.reason == "bad_credentials"
    assert failed.message == f"password authentication failed for user '{role}'"
    await destination.check(warehouse_config | {"username": role, "password": "right-password"})


async def test_check_says_when_the_user_may_not_create_tables(
    warehouse_config: dict[str, Any], db: asyncpg.Connection
) -> None:
    role = f"reader_{uuid.uuid4().hex[:8]}"
    schema = f"locked_{uuid.uuid4().hex[:8]}"
    await db.execute(f'CREATE ROLE "{role}" LOGIN')
    await db.execute(f'CREATE SCHEMA "{schema}"')
    await db.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')

    failed = await _reason(warehouse_config | {"username": role, "schema": schema})
    assert failed.reason == "permission_denied"
    assert f"may not create tables in schema '{schema}'" in failed.message

    await db.execute(f'GRANT CREATE ON SCHEMA "{schema}" TO "{role}"')
    await destination.check(warehouse_config | {"username": role, "schema": schema})


def test_the_spec_is_a_form_with_the_password_marked_secret() -> None:
    spec = destination.spec()
    assert spec["type"] == "object"
    assert set(spec["required"]) == {"host", "database", "username"}
    assert spec["properties"]["password"]["format"] == "password"
    assert spec["properties"]["port"]["default"] == 5432
