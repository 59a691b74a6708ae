"""The Parquet destination on a local folder and on moto's S3 server: files readable back with pyarrow, part
names a retried run replaces, overwrite, a new column starting a new file, and `check`'s reasons."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from headwater.ingestion.adapters.connectors.parquet_destination import ParquetDestination
from headwater.ingestion.adapters.storage import ObjectStore, StoreConfig
from headwater.ingestion.arrow import RecordBatch, pa, pq
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteTarget
from headwater.ingestion.testing import S3Server, free_port, new_bucket_name

pytestmark = pytest.mark.integration

destination = ParquetDestination()


async def stream_of(batches: Iterable[RecordBatch]) -> AsyncIterator[RecordBatch]:
    for batch in batches:
        yield batch


def batch(**columns: Any) -> RecordBatch:
    return pa.RecordBatch.from_pydict(columns)


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A Parquet destination's configuration on a fresh folder or a fresh bucket."""
    if request.param == "local":
        return {"store": "local", "path": str(tmp_path / "lake"), "prefix": "raw"}
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = new_bucket_name("parquet")
    server.create_bucket(bucket)
    return {
        "store": "s3",
        "bucket": bucket,
        "prefix": "raw",
        "endpoint": server.endpoint,
        "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        "allow_http": True,
    }


def store_of(lake: dict[str, Any]) -> ObjectStore:
    """The lake's store above its prefix, to look at what the destination wrote."""
    if lake["store"] == "local":
        return ObjectStore(StoreConfig(scheme="file", location=lake["path"]))
    return ObjectStore(
        StoreConfig(
            scheme="s3",
            location=lake["bucket"],
            endpoint=lake["endpoint"],
            region=lake["region"],
            access_key_id=lake["access_key_id"],
            secret_access_key=lake["secret_access_key"],
            allow_http=True,
        )
    )


async def files_of(lake: dict[str, Any], folder: str) -> dict[str, Any]:
    """Every object under `folder` of the lake, read as an Arrow table."""
    store = store_of(lake)
    tables: dict[str, Any] = {}
    async for info in store.list(folder):
        data = b"".join([chunk async for chunk in store.open(info.key)])
        tables[info.key.removeprefix(folder + "/")] = pq.read_table(io.BytesIO(data))
    return tables


async def test_batches_become_parquet_files_named_after_the_run(lake: dict[str, Any]) -> None:
    target = WriteTarget(namespace="shop", table="orders", run_id="run-1")
    first = batch(id=[1, 2], name=["a", "b"])
    summary = await destination.write(lake, target, stream_of([first, batch(id=[3], name=[None])]))

    assert summary.rows_written == 3
    assert summary.location.endswith("raw/shop/orders/")
    files = await files_of(lake, "raw/shop/orders")
    assert list(files) == ["run-1-00000.parquet"]
    assert files["run-1-00000.parquet"].to_pydict() == {"id": [1, 2, 3], "name": ["a", "b", None]}


async def test_a_retried_run_replaces_its_files_and_other_runs_add_theirs(lake: dict[str, Any]) -> None:
    rows = batch(id=[1, 2])
    retried = WriteTarget(namespace="shop", table="orders", run_id="run-7")
    await destination.write(lake, retried, stream_of([rows]))
    await destination.write(lake, retried, stream_of([rows]))
    await destination.write(
        lake, WriteTarget(namespace="shop", table="orders", run_id="run-8"), stream_of([rows])
    )

    files = await files_of(lake, "raw/shop/orders")
    assert sorted(files) == ["run-7-00000.parquet", "run-8-00000.parquet"]
    assert sum(table.num_rows for table in files.values()) == 4


async def test_a_new_column_starts_a_new_file_and_the_files_read_as_one_dataset(lake: dict[str, Any]) -> None:
    target = WriteTarget(namespace=None, table="events", run_id="r1")
    await destination.write(
        lake, target, stream_of([batch(id=[1]), batch(id=[2], kind=["click"]), batch(id=[3], kind=["view"])])
    )

    files = await files_of(lake, "raw/events")
    assert sorted(files) == ["r1-00000.parquet", "r1-00001.parquet"]
    merged = pa.concat_tables(
        [files["r1-00000.parquet"], files["r1-00001.parquet"]], promote_options="default"
    )
    assert merged.to_pydict() == {"id": [1, 2, 3], "kind": [None, "click", "view"]}


async def test_overwrite_leaves_only_the_runs_files(lake: dict[str, Any]) -> None:
    await destination.write(
        lake, WriteTarget(namespace="s", table="t", run_id="a"), stream_of([batch(id=[1])])
    )
    await destination.write(
        lake, WriteTarget(namespace="s", table="t", run_id="b"), stream_of([batch(id=[2])])
    )
    summary = await destination.write(
        lake, WriteTarget(namespace="s", table="t", run_id="c", mode="overwrite"), stream_of([batch(id=[9])])
    )

    assert summary.rows_written == 1
    files = await files_of(lake, "raw/s/t")
    assert list(files) == ["c-00000.parquet"]
    assert files["c-00000.parquet"].to_pydict() == {"id": [9]}


async def test_files_close_at_the_configured_size(lake: dict[str, Any]) -> None:
    wide = batch(id=list(range(200_000)), text=[uuid.uuid4().hex for _ in range(200_000)])
    target = WriteTarget(namespace="s", table="big", run_id="r")
    await destination.write(
        lake | {"file_size_mb": 1, "compression": "none"}, target, stream_of([wide, wide])
    )

    files = await files_of(lake, "raw/s/big")
    assert sorted(files) == ["r-00000.parquet", "r-00001.parquet"]
    assert [table.num_rows for _, table in sorted(files.items())] == [200_000, 200_000]


async def test_a_source_failing_mid_write_leaves_no_visible_file(lake: dict[str, Any]) -> None:
    async def failing() -> AsyncIterator[RecordBatch]:
        # Past the file size: one part is closed and uploaded (as pending) before the source fails.
        yield batch(id=list(range(100_000)), text=[uuid.uuid4().hex for _ in range(100_000)])
        raise ConnectionResetError("the source went away")

    target = WriteTarget(namespace="s", table="t", run_id="killed")
    with pytest.raises(ConnectionResetError):
        await destination.write(lake | {"file_size_mb": 1, "compression": "none"}, target, failing())

    assert list(await files_of(lake, "raw/s/t")) == ["_pending/killed/killed-00000.parquet"]
    await destination.write(lake, target, stream_of([batch(id=[1])]))
    assert list(await files_of(lake, "raw/s/t")) == ["killed-00000.parquet"]


async def test_check_passes_where_it_may_write(lake: dict[str, Any]) -> None:
    await destination.check(lake)


async def test_check_says_why_it_cannot_write(s3_server: S3Server, tmp_path: Path) -> None:
    s3 = {"store": "s3", "endpoint": s3_server.endpoint, "allow_http": True, "region": "us-east-1"}
    keys = {"access_key_id": "k", "secret_access_key": "s"}
    cases = {
        "not_found": s3 | keys | {"bucket": new_bucket_name("missing")},
        "connection_refused": s3 | keys | {"bucket": "b", "endpoint": f"http://127.0.0.1:{free_port()}"},
        "invalid_config": {"store": "s3"},
    }
    for reason, config in cases.items():
        with pytest.raises(CheckFailed) as failed:
            await destination.check(config)
        assert failed.value.reason == reason, failed.value.message

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    for path, reason in ((not_a_folder, "invalid_config"), ("relative/folder", "invalid_config")):
        with pytest.raises(CheckFailed) as failed:
            await destination.check({"store": "local", "path": str(path)})
        assert failed.value.reason == reason, failed.value.message


async def test_a_table_name_that_is_no_folder_is_refused(lake: dict[str, Any]) -> None:
    with pytest.raises(WriteFailed) as failed:
        await destination.write(lake, WriteTarget(namespace="..", table="t"), stream_of([batch(id=[1])]))
    assert failed.value.reason == "invalid_name"


async def test_a_write_to_a_missing_bucket_fails_with_the_reason(s3_server: S3Server) -> None:
    config = {
        "store": "s3",
        "bucket": new_bucket_name("missing"),
        "endpoint": s3_server.endpoint,
        "region": s3_server.region,
        "access_key_id": s3_server.access_key_id,
        "secret_access_key": s3_server.secret_access_key,
        "allow_http": True,
    }
    with pytest.raises(WriteFailed) as failed:
        await destination.write(
            config, WriteTarget(namespace="s", table="t", run_id="r"), stream_of([batch(id=[1])])
        )
    assert failed.value.reason == "not_found", failed.value.message
