"""The object store of uploaded files and watched prefixes: one async interface over local folders, S3, GCS, Azure.

Built on `obstore`. Uploads stream: size and SHA-256 are computed as the chunks pass, an object larger than
one part (`part_bytes`) goes up as a multipart upload, and memory holds about `part_bytes` times the parts in
flight (`max_concurrency`), never the whole file. Downloads stream to a local file (the worker parses local
files). The library's exceptions become `errors.*` with a one-line message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import obstore
from obstore import exceptions as obstore_errors
from obstore.store import AzureStore, GCSStore, LocalStore, S3Store
from prometheus_client import Counter

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.storage.config import StoreConfig
from headwater.ingestion.domain.objects import ObjectInfo, StoredObject, validate_key
from headwater.ingestion.domain.storage_errors import (
    AccessDenied,
    InvalidKey,
    ObjectNotFound,
    SigningNotSupported,
    StorageError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from obstore import ListStream, ObjectMeta
    from obstore.store import ClientConfig, RetryConfig

log = get_logger(__name__)
T = TypeVar("T")

OPERATIONS = Counter(
    "headwater_ingestion_object_store_operations_total",
    "Object store operations by outcome (ok, not_found, denied, unavailable, invalid, aborted)",
    ["operation", "outcome"],
)
BYTES = Counter(
    "headwater_ingestion_object_store_bytes_total",
    "Bytes written to or read from the object store",
    ["direction"],
)

MAX_PRESIGN_EXPIRY = timedelta(days=7)
"""S3's limit for a SigV4 pre-signed URL (GCS has the same)."""


AnyStore = LocalStore | S3Store | GCSStore | AzureStore


def _validate_prefix(prefix: str) -> str:
    stripped = prefix.strip("/")
    if stripped:
        validate_key(stripped)
    return stripped


def build_store(config: StoreConfig) -> AnyStore:
    """The obstore store of `config` (nothing is contacted until the first operation)."""
    retry: RetryConfig = {
        "max_retries": config.max_retries,
        "retry_timeout": timedelta(seconds=config.retry_timeout_seconds),
    }
    client: ClientConfig = {
        "connect_timeout": timedelta(seconds=config.connect_timeout_seconds),
        "allow_http": config.allow_http,
    }
    prefix = config.prefix or None
    if config.scheme == "file":
        folder = Path(config.location, config.prefix)
        return LocalStore(prefix=folder, mkdir=True)
    if config.scheme == "s3":
        # Region and credentials not given here come from the environment (AWS_REGION, instance roles, ...).
        s3: dict[str, Any] = {"skip_signature": config.anonymous}
        if config.region:
            s3["region"] = config.region
        if config.endpoint:
            # Local S3 servers answer on one host; path-style addressing keeps the bucket out of the host name.
            s3 |= {"endpoint": config.endpoint, "virtual_hosted_style_request": False}
        if config.access_key_id and config.secret_access_key:
            s3 |= {"access_key_id": config.access_key_id, "secret_access_key": config.secret_access_key}
            if config.session_token:
                s3["token"] = config.session_token
        return S3Store(config.location, prefix=prefix, client_options=client, retry_config=retry, **s3)
    if config.scheme == "gs":
        gcs: dict[str, Any] = {}
        if config.endpoint:
            gcs["base_url"] = config.endpoint
        if config.service_account_key:
            gcs["service_account_key"] = config.service_account_key
        if config.bearer_token:
            gcs["bearer_token"] = config.bearer_token
        if config.anonymous:
            gcs["skip_signature"] = True
        return GCSStore(config.location, prefix=prefix, client_options=client, retry_config=retry, **gcs)
    azure: dict[str, Any] = {"skip_signature": config.anonymous}
    if config.account_name:
        azure["account_name"] = config.account_name
    if config.account_key:
        azure["account_key"] = config.account_key
    if config.endpoint:
        azure["endpoint"] = config.endpoint
    return AzureStore(config.location, prefix=prefix, client_options=client, retry_config=retry, **azure)


def _first_line(exc: BaseException) -> str:
    # obstore appends a multi-line "Debug source:" dump; the first paragraph says it all.
    text = str(exc).split("\n\nDebug source", 1)[0].strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _translate(exc: Exception, key: str | None) -> StorageError:
    if isinstance(exc, FileNotFoundError):  # what obstore raises for a missing object
        return ObjectNotFound(key or "")
    if isinstance(
        exc, obstore_errors.PermissionDeniedError | obstore_errors.UnauthenticatedError | PermissionError
    ):
        return AccessDenied(f"the store refused the request: {_first_line(exc)}")
    if isinstance(exc, obstore_errors.InvalidPathError):
        return InvalidKey(f"the store refused the key {key!r}: {_first_line(exc)}")
    return StoreUnavailable(f"the store failed: {_first_line(exc)}")


def _outcome(exc: StorageError) -> str:
    if isinstance(exc, ObjectNotFound):
        return "not_found"
    if isinstance(exc, AccessDenied):
        return "denied"
    if isinstance(exc, InvalidKey):
        return "invalid"
    return "unavailable"


class _UploaderFailed(Exception):
    """The chunks given to `put` raised: carries nothing, `put` re-raises the chunks' own error."""


class _HashingChunks:
    """Re-yields the caller's chunks as parts while counting size and SHA-256; keeps the caller's own error."""

    def __init__(self, head: bytes, rest: AsyncIterator[bytes]) -> None:
        self.head = head
        self.rest = rest
        self.failure: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            yield self.head
        try:
            async for chunk in self.rest:
                if chunk:
                    yield chunk
        except BaseException as exc:
            self.failure = exc
            raise


class ObjectStore:
    """Async operations on one configured store; keys are relative to its prefix."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._store = build_store(config)

    @property
    def url(self) -> str:
        return self.config.url

    async def _call(self, operation: str, key: str | None, action: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await action()
        except StorageError as exc:
            OPERATIONS.labels(operation, _outcome(exc)).inc()
            raise
        except _UploaderFailed:
            OPERATIONS.labels(operation, "aborted").inc()
            raise
        except (obstore_errors.BaseError, OSError) as exc:
            error = _translate(exc, key)
            OPERATIONS.labels(operation, _outcome(error)).inc()
            if not isinstance(error, ObjectNotFound):
                log.warning(
                    "object_store_failed", operation=operation, store=self.url, key=key, error=str(error)
                )
            raise error from None
        OPERATIONS.labels(operation, "ok").inc()
        return result

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        """Write the object at `key` from `chunks`, replacing any; all or nothing (no partial object is visible).

        An error raised by `chunks` itself is re-raised as is, and the upload is abandoned.
        """
        validate_key(key)
        part = self.config.part_bytes
        digest = hashlib.sha256()
        size = 0
        # Read up to one part: a small object goes up in one request (no multipart for a few bytes, and an
        # empty object works everywhere); a larger one continues as a multipart upload of that size.
        head = bytearray()
        source = aiter(chunks)
        exhausted = False
        while len(head) < part:
            try:
                chunk = await anext(source)
            except StopAsyncIteration:
                exhausted = True
                break
            head += chunk
        first = bytes(head)
        del head

        if exhausted:
            digest.update(first)
            size = len(first)

            async def single() -> str | None:
                result = await obstore.put_async(self._store, key, first, use_multipart=False)
                return result["e_tag"]

            etag = await self._call("put", key, single)
        else:
            stream = _HashingChunks(first, source)

            async def counted() -> AsyncIterator[bytes]:
                nonlocal size
                async for chunk in stream:
                    digest.update(chunk)
                    size += len(chunk)
                    yield chunk

            async def multipart() -> str | None:
                try:
                    result = await obstore.put_async(
                        self._store,
                        key,
                        counted(),
                        use_multipart=True,
                        chunk_size=part,
                        max_concurrency=self.config.max_concurrency,
                    )
                except Exception:
                    # obstore aborts the multipart upload; the uploader's own error is not the store's.
                    if stream.failure is not None:
                        raise _UploaderFailed from stream.failure
                    raise
                return result["e_tag"]

            try:
                etag = await self._call("put", key, multipart)
            except _UploaderFailed as wrapped:
                raise stream.failure or wrapped from None
        BYTES.labels("written").inc(size)
        return StoredObject(key=key, size=size, sha256=digest.hexdigest(), etag=etag)

    async def open(self, key: str, *, chunk_bytes: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The object's bytes as chunks of about `chunk_bytes`; `ObjectNotFound` at the first iteration."""
        validate_key(key)
        result = await self._call("get", key, lambda: obstore.get_async(self._store, key))
        stream = result.stream(min_chunk_size=chunk_bytes)
        while True:
            try:
                chunk = await self._call("read", key, stream.__anext__)
            except StopAsyncIteration:
                return
            BYTES.labels("read").inc(len(chunk))
            yield chunk

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Stream the object into `path` (written next to it first, then renamed: never a half file there)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:

                def write(chunk: bytes) -> None:
                    digest.update(chunk)
                    file.write(chunk)

                async for chunk in self.open(key, chunk_bytes=4 * 1024 * 1024):
                    await asyncio.to_thread(write, chunk)
                    size += len(chunk)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    async def head(self, key: str) -> ObjectInfo:
        """The object's size, modification time and ETag; `ObjectNotFound` when there is none."""
        validate_key(key)
        meta = await self._call("head", key, lambda: obstore.head_async(self._store, key))
        return ObjectInfo(key=key, size=meta["size"], last_modified=meta["last_modified"], etag=meta["e_tag"])

    async def delete(self, key: str) -> None:
        """Remove the object; removing an absent one is not an error (retries and retention may repeat it)."""
        validate_key(key)
        try:
            await self._call("delete", key, lambda: obstore.delete_async(self._store, key))
        except ObjectNotFound:
            return

    async def rename(self, source: str, target: str) -> None:
        """Move the object at `source` to `target`, replacing any (a rename on a local folder, a server-side
        copy then a delete on S3 and GCS)."""
        validate_key(source)
        validate_key(target)
        await self._call(
            "rename", source, lambda: obstore.rename_async(self._store, source, target, overwrite=True)
        )

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every object under `prefix` (a folder-like prefix: `incoming/` and `incoming` list the same)."""
        clean = _validate_prefix(prefix)
        # The Arrow overloads of `list` are what leave its type partly unknown; this call returns dicts.
        pages: ListStream[Sequence[ObjectMeta]] = obstore.list(  # pyright: ignore[reportUnknownMemberType]
            self._store, prefix=clean or None, chunk_size=500
        )
        while True:
            try:
                page = await self._call("list", clean, pages.__anext__)
            except StopAsyncIteration:
                return
            for meta in page:
                yield ObjectInfo(
                    key=meta["path"],
                    size=meta["size"],
                    last_modified=meta["last_modified"],
                    etag=meta["e_tag"],
                )

    async def presigned_put_url(self, key: str, expires: timedelta) -> str:
        """A URL that accepts one HTTP PUT of the object's bytes until `expires` from now (S3, GCS, Azure)."""
        validate_key(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN_EXPIRY:
            raise ValueError(f"a pre-signed URL lasts 1 second to 7 days, not {expires}")
        store = self._store
        if isinstance(store, LocalStore):
            raise SigningNotSupported(
                f"{self.url} is a local folder: it has no upload URL of its own, the gateway signs one "
                "(headwater.ingestion.domain.upload_tokens)"
            )
        return await self._call("sign", key, lambda: obstore.sign_async(store, "PUT", key, expires))
