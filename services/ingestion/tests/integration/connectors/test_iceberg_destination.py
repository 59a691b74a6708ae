"""The Iceberg destination: a SQL catalog in the real Postgres, the warehouse in a local folder or on moto's S3
server; tables scanned back with pyiceberg after appends, schema evolution and overwrites."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from headwater.ingestion.adapters.connectors.iceberg_destination import (
    IcebergDestination,
    IcebergDestinationConfig,
)
from headwater.ingestion.arrow import RecordBatch, pa
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteTarget
from headwater.ingestion.testing import S3Server, free_port, new_bucket_name

pytestmark = pytest.mark.integration

destination = IcebergDestination()


async def stream_of(batches: Iterable[RecordBatch]) -> AsyncIterator[RecordBatch]:
    for batch in batches:
        yield batch


def batch(**columns: Any) -> RecordBatch:
    return pa.RecordBatch.from_pydict(columns)


def catalog_fields(dsn: str) -> dict[str, Any]:
    parts = urlsplit(dsn)
    return {
        "catalog_host": parts.hostname,
        "catalog_port": parts.port,
        "catalog_database": parts.path.lstrip("/"),
        "catalog_username": parts.username,
        "catalog_password": parts.password or "",
        "catalog_ssl": "disable",
        "catalog_schema": f"catalog_{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture(params=["local", "s3"])
def lakehouse(request: pytest.FixtureRequest, warehouse_dsn: str, tmp_path: Path) -> dict[str, Any]:
    """An Iceberg destination's configuration: a catalog schema of its own, a fresh folder or bucket."""
    if request.param == "local":
        return catalog_fields(warehouse_dsn) | {"store": "local", "path": str(tmp_path / "warehouse")}
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = new_bucket_name("iceberg")
    server.create_bucket(bucket)
    return catalog_fields(warehouse_dsn) | {
        "store": "s3",
        "bucket": bucket,
        "prefix": "lake",
        "endpoint": server.endpoint,
        "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
    }


def scan(config: dict[str, Any], namespace: str, table: str) -> dict[str, list[Any]]:
    """The table's rows as pyiceberg reads them, ordered by `id`."""
    parsed = msgspec.convert(config, IcebergDestinationConfig)
    catalog = SqlCatalog(parsed.catalog_name, **parsed.catalog_properties())
    try:
        rows = catalog.load_table((namespace, table)).scan().to_arrow()
        return rows.sort_by("id").to_pydict()
    finally:
        catalog.engine.dispose()


def snapshots(config: dict[str, Any], namespace: str, table: str) -> int:
    parsed = msgspec.convert(config, IcebergDestinationConfig)
    catalog = SqlCatalog(parsed.catalog_name, **parsed.catalog_properties())
    try:
        return len(catalog.load_table((namespace, table)).metadata.snapshots)
    finally:
        catalog.engine.dispose()


async def test_batches_are_appended_and_scanned_back(lakehouse: dict[str, Any]) -> None:
    at = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    first = pa.RecordBatch.from_pydict(
        {
            "id": pa.array([1, 2], pa.int64()),
            "qty": pa.array([3, None], pa.int16()),
            "name": pa.array(["a", "b"]).dictionary_encode(),
            "at": pa.array([at, None], pa.timestamp("ns", tz="UTC")),
        }
    )
    target = WriteTarget(namespace="shop", table="orders")
    summary = await destination.write(lakehouse, target, stream_of([first]))
    await destination.write(lakehouse, target, stream_of([batch(id=[3], qty=pa.array([5], pa.int16()))]))

    assert summary.rows_written == 2
    assert summary.location == "headwater.shop.orders"
    assert scan(lakehouse, "shop", "orders") == {
        "id": [1, 2, 3],
        "qty": [3, None, 5],
        "name": ["a", "b", None],
        "at": [at, None, None],
    }
    assert snapshots(lakehouse, "shop", "orders") == 2


async def test_a_new_column_evolves_the_schema_within_the_write(lakehouse: dict[str, Any]) -> None:
    target = WriteTarget(namespace=None, table="events")
    await destination.write(
        lakehouse,
        target,
        stream_of([batch(id=[1]), batch(id=[2], kind=["click"]), batch(id=[3], kind=["view"])]),
    )

    assert scan(lakehouse, "default", "events") == {"id": [1, 2, 3], "kind": [None, "click", "view"]}
    # One append per run of batches with one schema, committed together.
    assert snapshots(lakehouse, "default", "events") == 2


async def test_overwrite_replaces_every_row(lakehouse: dict[str, Any]) -> None:
    append = WriteTarget(namespace="s", table="t")
    await destination.write(lakehouse, append, stream_of([batch(id=[1, 2, 3])]))
    overwrite = WriteTarget(namespace="s", table="t", mode="overwrite")
    summary = await destination.write(
        lakehouse, overwrite, stream_of([batch(id=[7]), batch(id=[8], v=[1.5])])
    )

    assert summary.rows_written == 2
    assert scan(lakehouse, "s", "t") == {"id": [7, 8], "v": [None, 1.5]}

    await destination.write(lakehouse, overwrite, stream_of([]))
    assert scan(lakehouse, "s", "t") == {"id": [], "v": []}


async def test_rows_with_a_primary_key_are_upserted(lakehouse: dict[str, Any]) -> None:
    target = WriteTarget(namespace="s", table="keyed", primary_key=("id",))
    rows = batch(id=[1, 2, 3], status=["new", "new", "new"])
    await destination.write(lakehouse, target, stream_of([rows]))
    await destination.write(lakehouse, target, stream_of([rows]))
    assert scan(lakehouse, "s", "keyed") == {"id": [1, 2, 3], "status": ["new", "new", "new"]}

    # An update of 2, a new row 4 read twice (the last one wins), then 1 in a later batch.
    changes = [batch(id=[2, 4, 4], status=["paid", "new", "shipped"]), batch(id=[1], status=["gone"])]
    await destination.write(lakehouse, target, stream_of(changes))

    assert scan(lakehouse, "s", "keyed") == {"id": [1, 2, 3, 4], "status": ["gone", "paid", "new", "shipped"]}

    # A new column arrives with an upsert; a later batch without it leaves it as it was.
    await destination.write(lakehouse, target, stream_of([batch(id=[3], status=["new"], note=["fragile"])]))
    await destination.write(lakehouse, target, stream_of([batch(id=[3], status=["paid"])]))
    assert scan(lakehouse, "s", "keyed") == {
        "id": [1, 2, 3, 4],
        "status": ["gone", "paid", "paid", "shipped"],
        "note": [None, None, "fragile", None],
    }


async def test_a_failing_source_commits_nothing(lakehouse: dict[str, Any]) -> None:
    target = WriteTarget(namespace="s", table="t")
    await destination.write(lakehouse, target, stream_of([batch(id=[1])]))

    async def failing() -> AsyncIterator[RecordBatch]:
        yield batch(id=[2])
        raise ConnectionResetError("the source went away")

    with pytest.raises(ConnectionResetError):
        await destination.write(lakehouse, target, failing())
    assert scan(lakehouse, "s", "t") == {"id": [1]}


async def test_a_cancelled_write_commits_nothing(lakehouse: dict[str, Any]) -> None:
    target = WriteTarget(namespace="s", table="slow")
    await destination.write(lakehouse, target, stream_of([batch(id=[1])]))
    started = asyncio.Event()

    async def slow() -> AsyncIterator[RecordBatch]:
        yield batch(id=[2])
        started.set()
        await asyncio.sleep(3600)
        yield batch(id=[3])

    task = asyncio.create_task(destination.write(lakehouse, target, slow()))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)  # the writing thread sees the cancel at its next batch
    assert scan(lakehouse, "s", "slow") == {"id": [1]}


async def test_rows_contradicting_a_columns_type_are_refused(lakehouse: dict[str, Any]) -> None:
    target = WriteTarget(namespace="s", table="typed")
    await destination.write(lakehouse, target, stream_of([batch(id=[1])]))

    with pytest.raises(WriteFailed) as failed:
        await destination.write(lakehouse, target, stream_of([batch(id=["one"])]))
    assert failed.value.reason == "type_mismatch"
    assert scan(lakehouse, "s", "typed") == {"id": [1]}


async def test_check_passes_then_names_the_part_that_fails(lakehouse: dict[str, Any]) -> None:
    await destination.check(lakehouse)

    with pytest.raises(CheckFailed) as failed:
        await destination.check(lakehouse | {"catalog_port": free_port()})
    assert failed.value.reason == "connection_refused"
    assert failed.value.message.startswith("catalog: ")

    if lakehouse["store"] == "s3":
        broken = lakehouse | {"bucket": new_bucket_name("missing")}
        reason = "not_found"
    else:
        broken = lakehouse | {"path": "relative/folder"}
        reason = "invalid_config"
    with pytest.raises(CheckFailed) as failed:
        await destination.check(broken)
    assert failed.value.reason == reason, failed.value.message


def test_the_spec_marks_both_secrets() -> None:
    properties = destination.spec()["properties"]
    assert properties["catalog_password"]["writeOnly"] is True
    assert properties["secret_access_key"]["writeOnly"] is True
    assert "catalog_host" in destination.spec()["required"]
