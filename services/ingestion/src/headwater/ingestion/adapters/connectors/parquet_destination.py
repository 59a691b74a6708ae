"""The Parquet destination: a stream's rows as Parquet files in a local folder or an S3 bucket.

Files go under `<prefix>/<namespace>/<table>/` named `<run>-<nnnnn>.parquet`, the run being the sync run's id:
a retried run writes the same names again and replaces its own files instead of adding copies. Each file is
written to a local spool file (memory holds a batch, never a file), uploaded under `_pending/<run>/` (readers
skip folders starting with `_`), and only once every part is up are the parts moved to their names: a sync
killed mid-write leaves no visible part, and its rows come again with the resumed sync. Overwrite (a full
refresh) then deletes the files the run did not write. A batch whose schema differs from the file's (a column
added or gone) starts a new file, so each file has one schema and readers unify them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.destinations_common import (
    ROWS_WRITTEN,
    SECRET,
    WRITES,
    form_of,
    parse_config,
)
from headwater.ingestion.adapters.storage import (
    AccessDenied,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StoreConfig,
    StoreUnavailable,
)
from headwater.ingestion.arrow import RecordBatch, pa, pq
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteSummary, WriteTarget

log = get_logger(__name__)

KIND = "parquet"
CHECK_SECONDS = 9.0
PENDING = "_pending"
CHUNK_BYTES = 8 * 1024 * 1024
ABANDONED = timedelta(days=1)
"""Pending parts this old belong to a run that was killed: no sync runs that long without moving its parts."""
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ParquetDestinationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parquet files in a local folder or an S3 (or S3-compatible) bucket."""

    store: Annotated[Literal["local", "s3"], Meta(title="Store")] = "local"
    path: Annotated[str | None, Meta(title="Folder", description="Absolute folder (local store)")] = None
    bucket: Annotated[str | None, Meta(title="Bucket", description="S3 bucket (s3 store)")] = None
    prefix: Annotated[str, Meta(title="Prefix", description="Folder inside the bucket or folder")] = ""
    endpoint: Annotated[
        str | None, Meta(title="Endpoint", description="URL of an S3-compatible server; AWS when empty")
    ] = None
    region: Annotated[str | None, Meta(title="Region")] = None
    access_key_id: Annotated[str | None, Meta(title="Access key id")] = None
    secret_access_key: Annotated[str | None, Meta(title="Secret access key", extra_json_schema=SECRET)] = None
    allow_http: Annotated[bool, Meta(title="Allow plain HTTP to the endpoint")] = False
    compression: Annotated[Literal["zstd", "snappy", "gzip", "none"], Meta(title="Compression")] = "zstd"
    file_size_mb: Annotated[
        int, Meta(title="File size (MB)", description="A file is closed past this size", ge=1, le=4096)
    ] = 256

    def store_config(self) -> StoreConfig:
        """The object store of this configuration, or `CheckFailed("invalid_config")`."""
        try:
            if self.store == "local":
                if not self.path:
                    raise CheckFailed("invalid_config", "a local Parquet destination needs a folder (path)")
                return StoreConfig(
                    scheme="file", location=str(Path(self.path).expanduser()), prefix=self.prefix.strip("/")
                )
            if not self.bucket:
                raise CheckFailed("invalid_config", "an S3 Parquet destination needs a bucket")
            return StoreConfig(
                scheme="s3",
                location=self.bucket,
                prefix=self.prefix.strip("/"),
                endpoint=self.endpoint,
                region=self.region,
                access_key_id=self.access_key_id,
                secret_access_key=self.secret_access_key,
                allow_http=self.allow_http,
                max_retries=2,
                retry_timeout_seconds=CHECK_SECONDS,
                connect_timeout_seconds=4.0,
            )
        except StorageError as exc:  # the store's own validation (InvalidStoreUrl)
            raise CheckFailed("invalid_config", str(exc)) from None

    def open_store(self) -> ObjectStore:
        """The object store (a local store makes its folder here), or `CheckFailed`."""
        config = self.store_config()
        try:
            return ObjectStore(config)
        except PermissionError:
            raise CheckFailed("permission_denied", f"may not create the folder {config.url}") from None
        except OSError as exc:
            raise CheckFailed(
                "invalid_config", f"cannot use {config.url} as a folder: {exc.strerror or exc}"
            ) from None


def _storage_failure(exc: StorageError, url: str) -> CheckFailed:
    if isinstance(exc, AccessDenied):
        return CheckFailed("permission_denied", f"{url}: {exc}")
    if isinstance(exc, ObjectNotFound):
        return CheckFailed("not_found", f"{url} does not exist (is the bucket created?)")
    if isinstance(exc, InvalidKey):
        return CheckFailed("invalid_config", str(exc))
    if isinstance(exc, StoreUnavailable) and ("NoSuchBucket" in str(exc) or "404 Not Found" in str(exc)):
        # A listing of a missing bucket comes back as the library's generic error with S3's 404.
        return CheckFailed("not_found", f"{url} does not exist (is the bucket created?)")
    if isinstance(exc, StoreUnavailable) and "refused" in str(exc).lower():
        return CheckFailed("connection_refused", f"{url}: {exc}")
    if isinstance(exc, StoreUnavailable):
        return CheckFailed("unavailable", f"{url}: {exc}")
    return CheckFailed("failed", f"{url}: {exc}")


async def _reach(endpoint: str) -> None:
    """Opens (and closes) a TCP connection to `endpoint`: the store library reports a refused port or an
    unknown host only as "error sending request"."""
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CheckFailed("invalid_config", f"the endpoint {endpoint!r} is no http(s):// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"{parts.hostname}:{port}"
    try:
        async with asyncio.timeout(4.0):
            _, writer = await asyncio.open_connection(parts.hostname, port)
    except socket.gaierror:
        raise CheckFailed("unreachable_host", f"cannot resolve the host {parts.hostname!r}") from None
    except ConnectionRefusedError:
        raise CheckFailed(
            "connection_refused", f"{where} refused the connection: is the server up?"
        ) from None
    except TimeoutError:
        raise CheckFailed("timeout", f"no answer from {where} within 4 s") from None
    except OSError as exc:
        raise CheckFailed("unreachable_host", f"cannot reach {where}: {exc.strerror or exc}") from None
    writer.close()


def run_name(run_id: str | None) -> str:
    """The run's part of file names: the run id when it is a clean name, else a digest of it; a fresh id when
    the caller gives none (then a retry cannot replace the files)."""
    if run_id is None:
        return uuid.uuid4().hex
    if _RUN_ID.fullmatch(run_id):
        return run_id
    return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def _fitted(batch: RecordBatch, schema: Any) -> RecordBatch | None:
    """`batch` in the file's `schema` when it has the same columns with the same types (a column of nulls only,
    typed `null` by inference, takes the file's type), else None: the batch needs a file of its own."""
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    if batch.schema.names != schema.names:
        return None
    for field, wanted in zip(batch.schema, schema, strict=True):
        if not (field.type.equals(wanted.type) or pa.types.is_null(field.type)):
            return None
    return batch.cast(schema)


def _write_batch(writer: Any, batch: RecordBatch, path: str) -> int:
    """Appends `batch` to the open file and says how large the file is now."""
    writer.write_batch(batch)
    return os.path.getsize(path)


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


class _Parts:
    """The parts of one write: a spool file per part, uploaded under `_pending/` as each one closes."""

    def __init__(self, store: ObjectStore, folder: str, run: str, config: ParquetDestinationConfig) -> None:
        self._store = store
        self._folder = folder
        self._run = run
        self._compression = None if config.compression == "none" else config.compression
        self._file_bytes = config.file_size_mb * 1024 * 1024
        self._spool = tempfile.mkdtemp(prefix="headwater-parquet-")
        self._writer: Any = None
        self._path = ""
        self.names: list[str] = []
        self.rows = 0

    def pending_key(self, name: str) -> str:
        return f"{self._folder}/{PENDING}/{self._run}/{name}"

    def final_key(self, name: str) -> str:
        return f"{self._folder}/{name}"

    async def add(self, batch: RecordBatch) -> None:
        if self._writer is not None:
            fitted = _fitted(batch, self._writer.schema)
            if fitted is None:
                await self._close_part()
            else:
                batch = fitted
        if self._writer is None:
            self._path = os.path.join(self._spool, f"{len(self.names):05d}.parquet")
            self._writer = await asyncio.to_thread(
                pq.ParquetWriter, self._path, batch.schema, compression=self._compression
            )
        size = await asyncio.to_thread(_write_batch, self._writer, batch, self._path)
        self.rows += batch.num_rows
        if size >= self._file_bytes:
            await self._close_part()

    async def _close_part(self) -> None:
        writer, self._writer = self._writer, None
        await asyncio.to_thread(writer.close)
        name = f"{self._run}-{len(self.names):05d}.parquet"
        await self._store.put(self.pending_key(name), _file_chunks(self._path))
        os.unlink(self._path)
        self.names.append(name)

    async def finish(self) -> None:
        if self._writer is not None:
            await self._close_part()

    def discard(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        for leftover in Path(self._spool).glob("*"):
            leftover.unlink(missing_ok=True)
        os.rmdir(self._spool)


class ParquetDestination:
    """Rows as Parquet files on an object store (module docstring)."""

    kind = KIND

    def spec(self) -> dict[str, Any]:
        return form_of(ParquetDestinationConfig)

    async def check(self, config: Mapping[str, Any]) -> None:
        """Writes and deletes a small object under the prefix: proves the store is reachable, the bucket
        exists and the credentials may write."""
        parsed = parse_config(config, ParquetDestinationConfig, KIND)
        store = parsed.open_store()
        probe = f"_headwater_check/{uuid.uuid4().hex}"

        async def one_chunk() -> AsyncIterator[bytes]:
            yield b"headwater destination check"

        try:
            async with asyncio.timeout(CHECK_SECONDS):
                if parsed.store == "s3" and parsed.endpoint:
                    await _reach(parsed.endpoint)
                await store.put(probe, one_chunk())
                await store.delete(probe)
        except TimeoutError:
            raise CheckFailed("timeout", f"{store.url} did not answer within {CHECK_SECONDS:.0f} s") from None
        except StorageError as exc:
            raise _storage_failure(exc, store.url) from None

    async def write(
        self, config: Mapping[str, Any], target: WriteTarget, batches: AsyncIterator[RecordBatch]
    ) -> WriteSummary:
        url = "the store"
        try:
            parsed = parse_config(config, ParquetDestinationConfig, KIND)
            store = parsed.open_store()
            url = store.url
            if target.mode not in ("append", "overwrite"):
                raise WriteFailed(
                    "invalid_config", f"unknown write mode {target.mode!r}: append or overwrite"
                )
            folder = "/".join(part for part in (target.namespace, target.table) if part)
            if not target.table or any(part in {"", ".", ".."} or "/" in part for part in folder.split("/")):
                raise WriteFailed("invalid_name", f"{folder!r} cannot name a folder of Parquet files")
            run = run_name(target.run_id)
            parts = _Parts(store, folder, run, parsed)
            try:
                # A retry of this run starts clean; parts a killed run left a day ago will never be moved.
                await _delete_pending(store, folder, run)
                async for batch in batches:
                    if batch.num_rows:
                        await _spooled(parts.add(batch))
                await _spooled(parts.finish())
            finally:
                parts.discard()
            for name in parts.names:
                await store.rename(parts.pending_key(name), parts.final_key(name))
            await _delete_stale(store, folder, run, set(parts.names), everything=target.mode == "overwrite")
        except CheckFailed as exc:
            WRITES.labels(KIND, exc.reason).inc()
            raise WriteFailed(exc.reason, exc.message) from None
        except StorageError as exc:
            failure = _storage_failure(exc, url)
            WRITES.labels(KIND, failure.reason).inc()
            raise WriteFailed(failure.reason, failure.message) from exc
        except WriteFailed as exc:
            WRITES.labels(KIND, exc.reason).inc()
            raise
        WRITES.labels(KIND, "ok").inc()
        ROWS_WRITTEN.labels(KIND).inc(parts.rows)
        location = f"{store.url.rstrip('/')}/{folder}/"
        log.info("parquet_destination_written", location=location, files=len(parts.names), rows=parts.rows)
        return WriteSummary(rows_written=parts.rows, location=location)


async def _spooled(step: Coroutine[Any, Any, None]) -> None:
    """Runs a step of the Parquet writing, its Arrow or local disk failure told as the destination's."""
    try:
        await step
    except pa.lib.ArrowException as exc:
        raise WriteFailed("type_mismatch", f"the rows cannot be written as Parquet: {exc}") from exc
    except OSError as exc:
        raise WriteFailed("unavailable", f"the spool folder failed: {exc.strerror or exc}") from exc


async def _delete_pending(store: ObjectStore, folder: str, run: str) -> None:
    """Removes the pending parts of `run` (an earlier attempt of it) and those older than `ABANDONED` of any run."""
    pending = f"{folder}/{PENDING}/"
    abandoned = datetime.now(UTC) - ABANDONED
    keys = [
        info.key
        async for info in store.list(pending)
        if info.key.startswith(f"{pending}{run}/") or info.last_modified < abandoned
    ]
    for key in keys:
        await store.delete(key)


async def _delete_stale(
    store: ObjectStore, folder: str, run: str, written: set[str], *, everything: bool
) -> None:
    """After a write: its run's parts beyond those just written (an earlier attempt wrote more), and with
    `everything` (overwrite) every file of the table the run did not write; `_pending/` of other runs stays
    (they may be writing)."""
    stale: list[str] = []
    async for info in store.list(folder):
        name = info.key.removeprefix(f"{folder}/")
        if "/" in name or name in written:
            continue
        if everything or name.startswith(f"{run}-"):
            stale.append(info.key)
    for key in stale:
        await store.delete(key)
    if stale:
        log.info("parquet_destination_stale_files_deleted", folder=folder, files=len(stale))
