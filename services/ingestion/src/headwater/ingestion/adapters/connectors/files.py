"""Files on object storage as a source: CSV / TSV / JSON lines / Parquet (plain or gzip'd) under a prefix.

Each first-level folder under the prefix is a stream, and every file below it (at any depth: `orders/2024/01/a.csv`
is part of `orders`) is part of that stream; files directly under the prefix form the stream `root`. Files are
fetched with the service's object store (local folder, S3, GCS, Azure) and read with the service's own file
readers, so encodings, gzip and header handling are those of file ingestion: CSV and JSON-lines cells arrive as
text, Parquet columns as stored. Rows a reader refuses (a ragged CSV line) are counted and logged, not read.

Incremental reads take the files not read yet, oldest first: the state is the (modification time, key) of the
last file read, saved with that file's last batch, so a file is read whole or read again. A file rewritten since
is read again. Local folders are a source only under the roots the service allows (`local_roots`): a
configuration must not read the server's own disk.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    SOURCE_ROWS,
    checking,
    config_spec,
    masked_repr,
    parse_config,
    reach,
)
from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.adapters.storage import (
    AccessDenied,
    InvalidKey,
    InvalidStoreUrl,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StoreConfig,
    parse_store_url,
)
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import (
    CheckFailed,
    Column,
    ReadBatch,
    ReadRequest,
    Stream,
    SyncMode,
)
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings

log = get_logger(__name__)

KIND = "files"
ROOT_STREAM = "root"
SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet")
MAX_FILES = 100_000  # listed per discovery or read; more is a prefix too wide for one source

_SECRET = {"format": "password", "secret": True}


class FileOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How the files of a source are read (shared by every file-based source's configuration)."""

    format: Annotated[
        Literal["auto", "csv", "tsv", "jsonl", "parquet"],
        Meta(title="Format", description="auto: Parquet by its bytes, JSON lines by `{`, else CSV"),
    ] = "auto"
    csv_delimiter: Annotated[str, Meta(min_length=1, max_length=1, title="CSV delimiter")] = ","


class FilesConfig(FileOptions, frozen=True, kw_only=True):
    url: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=2048,
            title="Location",
            description="s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or file:///folder",
        ),
    ]
    endpoint: Annotated[str | None, Meta(title="Endpoint", description="An S3-compatible server")] = None
    region: Annotated[str | None, Meta(title="Region")] = None
    allow_http: Annotated[bool, Meta(title="Allow plain HTTP to the endpoint")] = False
    access_key_id: Annotated[str | None, Meta(title="Access key id (S3)")] = None
    secret_access_key: Annotated[
        str | None, Meta(title="Secret access key (S3)", extra_json_schema=_SECRET)
    ] = None
    service_account_key: Annotated[
        str | None, Meta(title="Service account key JSON (GCS)", extra_json_schema=_SECRET)
    ] = None
    account_name: Annotated[str | None, Meta(title="Account name (Azure)")] = None
    account_key: Annotated[str | None, Meta(title="Account key (Azure)", extra_json_schema=_SECRET)] = None

    def __repr__(self) -> str:
        return masked_repr(self)


class FileState(msgspec.Struct, frozen=True, kw_only=True):
    last_modified: datetime
    key: str


class FileTree(Protocol):
    """Files somewhere (a bucket, a folder, an SFTP server), keyed by their path under the source's root."""

    where: str  # for messages

    async def list_files(self) -> list[ObjectInfo]:
        """Every data file (by its suffix), at most MAX_FILES."""
        ...

    async def fetch(self, key: str, path: Path) -> bool:
        """The file's bytes into `path`; False when it is gone since it was listed."""
        ...


def is_data_file(key: str) -> bool:
    return key.lower().removesuffix(".gz").endswith(SUFFIXES)


def too_many(where: str) -> CheckFailed:
    return CheckFailed("invalid_config", f"more than {MAX_FILES} files under {where}: narrow the path")


async def discover_files(tree: FileTree, options: FileOptions) -> list[Stream]:
    """A stream per first-level folder, its columns those of its oldest file."""
    objects = await tree.list_files()
    streams: list[Stream] = []
    with tempfile.TemporaryDirectory(prefix="headwater-files-source-") as folder:
        for name in sorted({_stream_of(o.key) for o in objects}):
            for info in _files_of(name, objects):
                sample = Path(folder) / "sample"
                if not await tree.fetch(info.key, sample):
                    continue
                schema = await _first_schema(sample, options, info.key)
                columns = tuple(
                    Column(name=f.name, type=_json_type(f.type)[0], format=_json_type(f.type)[1])
                    for f in schema
                )
                modes = (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)
                streams.append(Stream(namespace=None, name=name, columns=columns, sync_modes=modes))
                break
    return streams


async def read_files(tree: FileTree, options: FileOptions, request: ReadRequest) -> AsyncIterator[ReadBatch]:
    """The stream's files, oldest first (after the saved one, incrementally), each read whole."""
    if request.sync_mode == SyncMode.CDC:
        raise CheckFailed("invalid_config", "files are read in full or incrementally (new files), not by CDC")
    files = _files_of(request.stream.name, await tree.list_files())
    after = _saved(request)
    if after is not None:
        files = [f for f in files if (f.last_modified, f.key) > (after.last_modified, after.key)]
    with tempfile.TemporaryDirectory(prefix="headwater-files-source-") as folder:
        for info in files:
            path = Path(folder) / "file"
            if not await tree.fetch(info.key, path):
                log.info("file gone before it was read", key=info.key)
                continue
            state = msgspec.to_builtins(FileState(last_modified=info.last_modified, key=info.key))
            held: Any = None
            async for batch in _batches(path, options, request.batch_rows, info.key):
                if held is not None:
                    yield ReadBatch(records=held, state=None)
                held = batch
            if held is not None:  # the position is saved with the file's last rows: a file is read whole
                yield ReadBatch(
                    records=held, state=state if request.sync_mode == SyncMode.INCREMENTAL else None
                )
            path.unlink(missing_ok=True)


class _StoreTree:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.where = store.url

    async def list_files(self) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        try:
            async for info in self._store.list():
                if is_data_file(info.key):
                    found.append(info)
                    if len(found) > MAX_FILES:
                        raise too_many(self.where)
        except StorageError as e:
            raise _store_failure(self._store, e) from None
        return found

    async def fetch(self, key: str, path: Path) -> bool:
        try:
            await self._store.download_to(key, path)
        except ObjectNotFound:
            return False
        except StorageError as e:
            SOURCE_READ_FAILURES.labels(KIND).inc()
            raise _store_failure(self._store, e) from None
        return True


def _files_of(stream: str, objects: Sequence[ObjectInfo]) -> list[ObjectInfo]:
    return sorted((o for o in objects if _stream_of(o.key) == stream), key=lambda o: (o.last_modified, o.key))


def _stream_of(key: str) -> str:
    head, sep, _ = key.partition("/")
    return head if sep else ROOT_STREAM


def _json_type(arrow_type: Any) -> tuple[str, str | None]:
    if pa.types.is_boolean(arrow_type):
        return "boolean", None
    if pa.types.is_integer(arrow_type):
        return "integer", None
    if pa.types.is_decimal(arrow_type):
        return "number", "decimal"
    if pa.types.is_floating(arrow_type):
        return "number", None
    if pa.types.is_timestamp(arrow_type):
        return "string", "date-time" if arrow_type.tz else "date-time-local"
    if pa.types.is_date(arrow_type):
        return "string", "date"
    if pa.types.is_time(arrow_type):
        return "string", "time"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "string", "binary"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "array", None
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return "object", None
    return "string", None


class FilesSource:
    kind = KIND

    def __init__(self, local_roots: Sequence[Path] = ()) -> None:
        self._local_roots = [Path(r).resolve() for r in local_roots]

    def spec(self) -> dict[str, Any]:
        return config_spec(
            FilesConfig,
            title="Files on object storage",
            description="CSV, TSV, JSON lines and Parquet files under a prefix; one stream per first-level folder",
        )

    def _store(self, cfg: FilesConfig) -> ObjectStore:
        try:
            store = parse_store_url(
                cfg.url,
                endpoint=cfg.endpoint,
                region=cfg.region,
                allow_http=cfg.allow_http or None,
                access_key_id=cfg.access_key_id,
                secret_access_key=cfg.secret_access_key,
                service_account_key=cfg.service_account_key,
                account_name=cfg.account_name,
                account_key=cfg.account_key,
                max_retries=1,
                retry_timeout_seconds=CHECK_TIMEOUT_SECONDS,
            )
        except InvalidStoreUrl as e:
            raise CheckFailed("invalid_config", str(e)) from None
        if store.scheme == "file":
            self._allow_local(store)
        return ObjectStore(store)

    def _allow_local(self, store: StoreConfig) -> None:
        folder = Path(store.location).resolve()
        if not any(folder == root or folder.is_relative_to(root) for root in self._local_roots):
            raise CheckFailed(
                "permission_denied",
                "local folders are not a source here: use an object store (s3://, gs://, az://)",
            )
        if not folder.is_dir():
            raise CheckFailed("not_found", f"no folder at {store.url}")

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, FilesConfig)
        async with checking(KIND, "the store"):
            store = self._store(cfg)
            if cfg.endpoint:
                await _reach(cfg.endpoint)
            if not await _StoreTree(store).list_files():
                raise CheckFailed("not_found", f"no CSV, JSON lines or Parquet files under {store.url}")

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, FilesConfig)
        return await discover_files(_StoreTree(self._store(cfg)), cfg)

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, FilesConfig)
        async for batch in read_files(_StoreTree(self._store(cfg)), cfg, request):
            yield batch


def _saved(request: ReadRequest) -> FileState | None:
    if request.sync_mode != SyncMode.INCREMENTAL or not request.state:
        return None
    try:
        return msgspec.convert(dict(request.state), FileState, strict=False)
    except msgspec.ValidationError:
        raise CheckFailed(
            "invalid_config", "the saved state of this stream is not one this connector wrote"
        ) from None


def _settings(cfg: FileOptions) -> tuple[ParseSettings, FileFormat | None]:
    chosen = None if cfg.format == "auto" else FileFormat(cfg.format)
    return ParseSettings(csv_delimiter=cfg.csv_delimiter), chosen


def _reader_batches(path: Path, cfg: FileOptions, batch_rows: int) -> Iterator[Any]:
    settings, chosen = _settings(cfg)
    for raw in open_file(path, settings, chosen).batches(batch_rows):
        if raw.rejected:
            log.warning("rows refused by the file reader", rows=len(raw.rejected))
        yield raw.rows


async def _batches(path: Path, cfg: FileOptions, batch_rows: int, key: str) -> AsyncIterator[Any]:
    """The file's record batches, read in a thread; an empty file reads as nothing."""
    iterator = _reader_batches(path, cfg, batch_rows)
    while True:
        try:
            batch: Any = await asyncio.to_thread(next, iterator, None)
        except UnreadableFile as e:
            if "empty" in str(e):
                return
            SOURCE_READ_FAILURES.labels(KIND).inc()
            raise CheckFailed("read_failed", f"{key}: {e}") from None
        if batch is None:
            return
        SOURCE_ROWS.labels(KIND).inc(batch.num_rows)
        yield batch


async def _first_schema(path: Path, options: FileOptions, key: str) -> Any:
    async for batch in _batches(path, options, 1000, key):
        return batch.schema
    return pa.schema([])


async def _reach(endpoint: str) -> None:
    """A TCP connection to the endpoint, which says what the store library's "error sending request" hides."""
    parts = urlsplit(endpoint)
    if not parts.hostname:
        raise CheckFailed("invalid_config", f"the endpoint {endpoint!r} is not a URL (http://host:port)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CheckFailed("invalid_config", f"the endpoint {endpoint!r} has no valid port") from None
    await reach(parts.hostname, port)


def _store_failure(store: ObjectStore, e: StorageError) -> CheckFailed:
    if isinstance(e, AccessDenied):
        return CheckFailed("bad_credentials", f"{store.url} refused the credentials or the listing: {e}")
    if isinstance(e, InvalidKey | InvalidStoreUrl):
        return CheckFailed("invalid_config", str(e))
    text = str(e)
    if "refused" in text.lower():
        return CheckFailed("connection_refused", f"{store.url}: the endpoint refused the connection ({text})")
    if "dns" in text.lower() or "resolve" in text.lower():
        return CheckFailed("unreachable_host", f"{store.url}: the endpoint's host does not resolve ({text})")
    if "NoSuchBucket" in text or "not found" in text.lower():
        return CheckFailed("not_found", f"{store.url}: {text}")
    return CheckFailed("unreachable_host", f"{store.url} cannot be reached: {text}")
