"""The object store against a local folder, moto's S3 server, the GCS emulator and Azurite: the same tests for
each."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from headwater.ingestion.adapters.storage import (
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    SigningNotSupported,
    StoreUnavailable,
)
from headwater.ingestion.testing import GCSEmulator, S3Server

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


async def chunks_of(data: bytes, size: int = MIB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(key)])


async def test_a_streamed_multi_megabyte_object_reads_back_whole(
    object_store: ObjectStore, store_kind: str
) -> None:
    # Larger than two parts (8 MiB), so it goes up as a multipart upload of three parts.
    data = os.urandom(19 * MIB + 123)

    stored = await object_store.put("batches/2026/big.bin", chunks_of(data))

    assert stored.key == "batches/2026/big.bin"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.etag
    if store_kind == "s3":
        assert stored.etag.endswith('-3"')  # S3's ETag of a multipart object counts its parts
    info = await object_store.head("batches/2026/big.bin")
    assert info.size == len(data)
    assert info.last_modified > datetime.now(UTC) - timedelta(minutes=5)
    back = await read_all(object_store, "batches/2026/big.bin")
    assert hashlib.sha256(back).hexdigest() == stored.sha256


async def test_small_and_empty_objects_go_up_in_one_request(object_store: ObjectStore) -> None:
    small = await object_store.put("small.csv", chunks_of(b"id,name\n1,a\n", size=4))
    empty = await object_store.put("empty.csv", chunks_of(b""))

    assert (small.size, small.sha256) == (12, hashlib.sha256(b"id,name\n1,a\n").hexdigest())
    assert (empty.size, empty.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await read_all(object_store, "small.csv") == b"id,name\n1,a\n"
    assert await read_all(object_store, "empty.csv") == b""
    assert (await object_store.head("empty.csv")).size == 0


async def test_putting_again_replaces_the_object(object_store: ObjectStore) -> None:
    await object_store.put("same.txt", chunks_of(b"first version"))
    second = await object_store.put("same.txt", chunks_of(b"second"))

    assert await read_all(object_store, "same.txt") == b"second"
    assert (await object_store.head("same.txt")).size == second.size == 6


async def test_download_to_writes_a_local_file_with_its_hash(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    data = os.urandom(9 * MIB)
    stored = await object_store.put("in/file.parquet", chunks_of(data))
    target = tmp_path / "work" / "file.parquet"

    downloaded = await object_store.download_to("in/file.parquet", target)

    assert target.read_bytes() == data
    assert (downloaded.size, downloaded.sha256) == (stored.size, stored.sha256)
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.parquet"]


async def test_listing_a_prefix_shows_new_objects_with_their_sizes(object_store: ObjectStore) -> None:
    assert [info async for info in object_store.list("incoming/")] == []

    await object_store.put("incoming/a.csv", chunks_of(b"a" * 10))
    await object_store.put("incoming/day=1/b.csv", chunks_of(b"b" * 20))
    await object_store.put("elsewhere/c.csv", chunks_of(b"c" * 30))
    listed = {info.key: info async for info in object_store.list("incoming")}

    assert {key: info.size for key, info in listed.items()} == {
        "incoming/a.csv": 10,
        "incoming/day=1/b.csv": 20,
    }
    assert all(info.last_modified.tzinfo is not None for info in listed.values())
    everything = {info.key async for info in object_store.list()}
    assert everything == {"incoming/a.csv", "incoming/day=1/b.csv", "elsewhere/c.csv"}

    await object_store.put("incoming/later.csv", chunks_of(b"later"))
    assert "incoming/later.csv" in {info.key async for info in object_store.list("incoming/")}


async def test_delete_removes_the_object_and_may_be_repeated(object_store: ObjectStore) -> None:
    await object_store.put("gone.csv", chunks_of(b"x"))

    await object_store.delete("gone.csv")
    await object_store.delete("gone.csv")

    with pytest.raises(ObjectNotFound):
        await object_store.head("gone.csv")
    assert [info async for info in object_store.list()] == []


async def test_a_missing_object_raises_not_found(object_store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound, match=r"no object at 'nowhere\.csv'"):
        await object_store.head("nowhere.csv")
    with pytest.raises(ObjectNotFound):
        await read_all(object_store, "nowhere.csv")
    with pytest.raises(ObjectNotFound):
        await object_store.download_to("nowhere.csv", tmp_path / "nowhere.csv")
    assert not (tmp_path / "nowhere.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # noqa: ASYNC240


async def test_an_error_of_the_uploader_abandons_the_upload(
    object_store: ObjectStore, store_kind: str, request: pytest.FixtureRequest
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield os.urandom(MIB)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError, match="the client went away"):
        await object_store.put("half.bin", broken())

    with pytest.raises(ObjectNotFound):
        await object_store.head("half.bin")
    if store_kind == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        assert s3.pending_multipart_uploads(object_store.config.location) == 0


@pytest.mark.parametrize(
    "key", ["", "/abs.csv", "dir/", "a//b.csv", "../up.csv", "a/./b", "tab\there", "back\\slash"]
)
async def test_keys_that_are_not_clean_relative_paths_are_refused(
    object_store: ObjectStore, key: str
) -> None:
    with pytest.raises(InvalidKey):
        await object_store.put(key, chunks_of(b"x"))
    with pytest.raises(InvalidKey):
        await object_store.head(key)


async def test_a_presigned_put_url_takes_an_upload(object_store: ObjectStore, store_kind: str) -> None:
    if store_kind == "local":
        with pytest.raises(SigningNotSupported, match="gateway signs"):
            await object_store.presigned_put_url("uploads/x.csv", timedelta(minutes=5))
        return
    data = os.urandom(2 * MIB)
    url = await object_store.presigned_put_url("uploads/item-1/data.csv", timedelta(minutes=5))

    # Azure takes a PUT of a blob only when it says which kind of blob it is.
    headers = {"x-ms-blob-type": "BlockBlob"} if store_kind == "azure" else {}
    async with httpx.AsyncClient() as client:
        response = await client.put(url, content=data, headers=headers)

    assert response.status_code == (201 if store_kind == "azure" else 200), response.text
    assert (await object_store.head("uploads/item-1/data.csv")).size == len(data)
    assert await read_all(object_store, "uploads/item-1/data.csv") == data


async def test_a_presigned_url_lasts_one_second_to_seven_days(object_store: ObjectStore) -> None:
    for expires in (timedelta(0), timedelta(days=8)):
        with pytest.raises(ValueError, match="1 second to 7 days"):
            await object_store.presigned_put_url("x.csv", expires)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["s3", "gcs"])
async def test_an_unreachable_store_raises_store_unavailable(
    kind: str, s3_server: S3Server, gcs_server: GCSEmulator
) -> None:
    server = s3_server if kind == "s3" else gcs_server
    reachable = server.store("some-bucket")
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    store = ObjectStore(
        msgspec.structs.replace(reachable, endpoint=nowhere, max_retries=0, retry_timeout_seconds=2)
    )

    with pytest.raises(StoreUnavailable, match="the store failed"):
        await store.head("any.csv")
    with pytest.raises(StoreUnavailable):
        await store.put("any.csv", chunks_of(b"x"))
