"""The files source on a local folder and on the S3 server (moto): streams per folder, typed discovery, full and
incremental (new files) reads, and check's answers for a folder it may not read, an empty prefix, a closed port."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from headwater.ingestion.adapters.connectors.files import FilesSource
from headwater.ingestion.adapters.connectors.registry import source
from headwater.ingestion.adapters.storage import ObjectStore
from headwater.ingestion.arrow import pa, pq
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, Stream, SyncMode
from headwater.ingestion.testing import S3Server, free_port, new_bucket_name

pytestmark = pytest.mark.integration


def parquet_bytes() -> bytes:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "score": pa.array([0.5, None, 2.0], pa.float64()),
            "at": pa.array(
                [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


FILES: dict[str, bytes] = {
    "orders/2024/a.csv": b"id,name\n1,ann\n2,bob\n",
    "orders/2024/b.csv.gz": gzip.compress(b"id,name\n3,cy\n"),
    "events/e.jsonl": b'{"k": 1, "v": "x"}\n{"k": 2, "v": null}\n',
    "metrics/m.parquet": parquet_bytes(),
    "top.csv": b"a\n1\n",
    "notes/readme.md": b"# not data\n",
}


def write_local(folder: Path, files: dict[str, bytes]) -> None:
    for n, (key, data) in enumerate(files.items()):
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = 1_700_000_000 + n * 60  # files in the order given, a minute apart
        os.utime(path, (stamp, stamp))


async def read_all(src: FilesSource, cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in src.read(cfg, request)]


def rows_of(batches: list[ReadBatch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.records.to_pylist()]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    write_local(folder, FILES)
    return folder


async def test_a_local_folder_lists_a_stream_per_folder_with_types(landing: Path) -> None:
    src = FilesSource(local_roots=[landing.parent])
    cfg = {"url": landing.as_uri()}
    await src.check(cfg)
    streams = {s.name: s for s in await src.discover(cfg)}
    assert set(streams) == {"orders", "events", "metrics", "root"}  # readme.md is no data file
    assert [(c.name, c.type) for c in streams["orders"].columns] == [("id", "string"), ("name", "string")]
    assert [(c.name, c.type, c.format) for c in streams["metrics"].columns] == [
        ("id", "integer", None),
        ("score", "number", None),
        ("at", "string", "date-time"),
    ]
    assert streams["orders"].sync_modes == (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)


async def test_full_and_incremental_reads_take_files_whole(landing: Path) -> None:
    src = FilesSource(local_roots=[landing])
    cfg = {"url": landing.as_uri()}
    orders = Stream(namespace=None, name="orders", columns=())
    full = await read_all(src, cfg, ReadRequest(stream=orders))
    assert rows_of(full) == [
        {"id": "1", "name": "ann"},
        {"id": "2", "name": "bob"},
        {"id": "3", "name": "cy"},
    ]
    assert all(b.state is None for b in full)

    first = await read_all(src, cfg, ReadRequest(stream=orders, sync_mode=SyncMode.INCREMENTAL))
    assert len(rows_of(first)) == 3
    state = first[-1].state
    assert state is not None
    assert state["key"] == "orders/2024/b.csv.gz"
    nothing = await read_all(
        src, cfg, ReadRequest(stream=orders, sync_mode=SyncMode.INCREMENTAL, state=state)
    )
    assert nothing == []
    write_local(landing, {"orders/2025/c.csv": b"id,name\n4,dee\n"})
    stamp = 1_800_000_000
    os.utime(landing / "orders/2025/c.csv", (stamp, stamp))
    new = await read_all(src, cfg, ReadRequest(stream=orders, sync_mode=SyncMode.INCREMENTAL, state=state))
    assert rows_of(new) == [{"id": "4", "name": "dee"}]
    assert new[-1].state is not None
    assert new[-1].state["key"] == "orders/2025/c.csv"

    parquet = rows_of(
        await read_all(src, cfg, ReadRequest(stream=Stream(namespace=None, name="metrics", columns=())))
    )
    assert [r["id"] for r in parquet] == [1, 2, 3]
    assert parquet[1]["score"] is None


async def test_check_refuses_what_it_may_not_or_cannot_read(landing: Path, tmp_path: Path) -> None:
    assert (await _reason(FilesSource(), {"url": landing.as_uri()})) == "permission_denied"  # no local roots
    src = FilesSource(local_roots=[tmp_path])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (await _reason(src, {"url": empty.as_uri()})) == "not_found"
    assert (await _reason(src, {"url": (tmp_path / "absent").as_uri()})) == "not_found"
    assert (await _reason(src, {"url": "ftp://somewhere/x"})) == "invalid_config"
    assert (await _reason(src, {"url": landing.as_uri(), "format": "xlsx"})) == "invalid_config"
    assert source("files").spec()["properties"]["secret_access_key"]["secret"] is True


async def _reason(src: FilesSource, cfg: dict[str, Any]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await src.check(cfg)
    assert failed.value.message
    return failed.value.reason


@pytest.fixture
async def s3_landing(s3_server: S3Server) -> dict[str, Any]:
    bucket = new_bucket_name("files")
    s3_server.create_bucket(bucket)
    store = ObjectStore(s3_server.store(bucket, prefix="landing"))
    for key, data in FILES.items():

        async def chunks(data: bytes = data) -> AsyncIterator[bytes]:
            yield data

        await store.put(key, chunks())
    return {
        "url": f"s3://{bucket}/landing",
        "endpoint": s3_server.endpoint,
        "region": s3_server.region,
        "allow_http": True,
        "access_key_id": s3_server.access_key_id,
        "secret_access_key": s3_server.secret_access_key,
    }


async def test_files_on_s3_are_a_source(s3_landing: dict[str, Any]) -> None:
    src = FilesSource()
    await src.check(s3_landing)
    streams = {s.name: s for s in await src.discover(s3_landing)}
    assert set(streams) == {"orders", "events", "metrics", "root"}
    events = rows_of(await read_all(src, s3_landing, ReadRequest(stream=streams["events"])))
    assert events == [{"k": "1", "v": "x"}, {"k": "2", "v": None}]
    orders = rows_of(await read_all(src, s3_landing, ReadRequest(stream=streams["orders"])))
    assert sorted(r["id"] for r in orders) == ["1", "2", "3"]


async def test_s3_check_says_the_port_is_closed_or_the_prefix_empty(s3_landing: dict[str, Any]) -> None:
    src = FilesSource()
    closed = {**s3_landing, "endpoint": f"http://127.0.0.1:{free_port()}"}
    assert (await _reason(src, closed)) == "connection_refused"
    assert (await _reason(src, {**s3_landing, "url": s3_landing["url"] + "/nothing-here"})) == "not_found"
