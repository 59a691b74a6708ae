"""Use cases of Qluster's stored items (files): listed, created for an upload (with its upload URL), uploaded
(streamed to the object store), published for ingestion (`file.stored` through the outbox), ignored, deleted;
and files that landed in the store on their own (`ingress.files`).

A `limited_to_source` caller sees and uploads only its data sources' files; anything else answers 404.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from prometheus_client import Counter

from headwater.common.contracts.qluster_files import UploadUrl
from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError
from headwater.common.events import FileStored
from headwater.common.ids import uuid7
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.domain import files as f
from headwater.ingestion.domain.files import (
    ItemFilter,
    ItemState,
    JobEnd,
    JobState,
    NewStoredItem,
    StoredItem,
)
from headwater.ingestion.domain.metadata import Page, Stored
from headwater.ingestion.domain.objects import validate_key
from headwater.ingestion.domain.storage_errors import InvalidKey, ObjectNotFound, SigningNotSupported
from headwater.ingestion.domain.upload_tokens import (
    UploadTokenError,
    nonce_of,
    sign_upload,
    verify_upload,
)
from headwater.ingestion.service_layer.metadata import cursor_page
from headwater.ingestion.service_layer.ports import Store, Warehouses
from headwater.ingestion.service_layer.reprocess import ignore_file as drop_file_rows
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork
from headwater.ingestion.service_layer.warehouses import target_for

log = get_logger(__name__)

UPLOADS = Counter(
    "headwater_ingestion_uploads_total", "Files uploaded to the object store, by outcome", ["outcome"]
)
UPLOADED_BYTES = Counter(
    "headwater_ingestion_uploaded_bytes_total", "Bytes of files uploaded to the object store"
)


class UploadRefused(UseCaseError):
    """A signed upload URL that is invalid, expired, altered or already used."""

    status = 403


async def _data_source(uow: UnitOfWork, data_source_id: int, principal: Principal) -> Stored:
    source = await uow.data_sources.get(data_source_id, principal.visible_data_sources)
    if source is None or source.state == "deleted":
        raise NotFound(f"data source {data_source_id} not found")
    return source


async def _item(uow: UnitOfWork, item_id: int, principal: Principal, *, lock: bool = False) -> StoredItem:
    item = await uow.stored_items.get(item_id, principal.visible_data_sources, lock=lock)
    if item is None:
        raise NotFound(f"stored item {item_id} not found")
    return item


async def list_stored_items(
    uow: UnitOfWork,
    *,
    data_source_id: int | None = None,
    parent_id: int | None = None,
    is_uploaded_via_signed_url: bool | None = None,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = ItemFilter(
        data_source_id=data_source_id,
        parent_id=parent_id,
        is_uploaded_via_signed_url=is_uploaded_via_signed_url,
        data_sources=principal.visible_data_sources,
    )
    async with uow:
        return await cursor_page(uow.stored_items.walk, matching, cursor=cursor)


async def get_stored_item(uow: UnitOfWork, item_id: int, principal: Principal = SYSTEM) -> StoredItem:
    async with uow:
        return await _item(uow, item_id, principal)


async def data_source_names(uow: UnitOfWork, items: Sequence[StoredItem]) -> dict[int, str | None]:
    async with uow:
        return await uow.data_sources.names(sorted({i.data_source_id for i in items}))


def _object_key(data_source_id: int, key: str) -> str:
    try:
        return validate_key(f.object_key_for(data_source_id, key))
    except InvalidKey as e:
        raise Invalid(f"key: {e}") from e


async def create_stored_item(
    uow: UnitOfWork,
    store: Store,
    *,
    data_source_id: int,
    key: str,
    secret: bytes,
    expires: timedelta,
    principal: Principal = SYSTEM,
) -> UploadUrl:
    """A stored item waiting for its upload, and the URL that takes it: pre-signed by S3/GCS, or (a local
    store) the gateway's upload path carrying a signed, expiring, single-use token."""
    object_key = _object_key(data_source_id, key)
    async with uow:
        source = await _data_source(uow, data_source_id, principal)
        if await uow.stored_items.by_key(object_key) is not None:
            raise Conflict(f"a stored item already has the key {key!r} in data source {data_source_id}")
        item = await uow.stored_items.add(
            NewStoredItem(
                dataset_id=source.parent_id or 0,
                data_source_id=data_source_id,
                object_key=object_key,
                file_name=key.rsplit("/", 1)[-1],
                is_uploaded_via_signed_url=True,
            )
        )
        try:
            url = await store.presigned_put_url(object_key, expires)
            # Azure takes a blob's PUT only with its kind said in a header.
            header = " with the header `x-ms-blob-type: BlockBlob`" if store.url.startswith("az://") else ""
            msg = f"PUT the file's bytes to `url`{header}, then Publish Stored Item For Ingestion"
        except SigningNotSupported:
            token, _ = sign_upload(secret, item_id=str(item.id), key=object_key, expires_in=expires)
            url = (
                f"/stored-items/{item.id}/upload?token={token}"  # IngestionPaths.TOKEN_UPLOAD, the gateway's
            )
            msg = "PUT the file's bytes to `url` (once, before it expires); the file is then ingested"
        await uow.commit()
    log.info("stored_item_created", stored_item_id=item.id, data_source_id=data_source_id)
    return UploadUrl(id=item.id, url=url, msg=msg)


async def _stream_to_store(store: Store, key: str, chunks: AsyncIterator[bytes]) -> tuple[int, str]:
    stored = await store.put(key, chunks)
    if stored.size == 0:
        await store.delete(key)
        UPLOADS.labels("empty").inc()
        raise Invalid("the file is empty (0 bytes): send the file's content")
    UPLOADS.labels("stored").inc()
    UPLOADED_BYTES.inc(stored.size)
    return stored.size, stored.sha256


async def upload_with_token(
    uow: UnitOfWork,
    store: Store,
    *,
    item_id: int,
    token: str,
    secret: bytes,
    chunks: AsyncIterator[bytes],
    content_type: str | None = None,
) -> StoredItem:
    """The PUT of a local store's signed upload URL: the token is checked and spent (single use) before the
    bytes stream to the store; then the item is stored and published."""
    try:
        claims = verify_upload(secret, token)
    except UploadTokenError as e:
        UPLOADS.labels("refused").inc()
        raise UploadRefused(f"the upload URL is not valid: {e}") from e
    if claims.item_id != str(item_id):
        raise UploadRefused("the upload URL is for another stored item")
    async with uow:
        item = await uow.stored_items.get(item_id, lock=True)
        if item is None or item.object_key != claims.key:
            raise UploadRefused("the upload URL is for another stored item")
        if item.state != ItemState.WAITING_FOR_UPLOAD:
            raise UploadRefused(f"stored item {item_id} is not waiting for an upload (it is {item.state})")
        if not await uow.stored_items.use_nonce(item_id, nonce_of(claims)):
            raise UploadRefused("the upload URL was used already: create a new stored item to upload again")
        await uow.commit()
    size, sha256 = await _stream_to_store(store, item.object_key, chunks)
    return await _complete(uow, item_id, size=size, sha256=sha256, content_type=content_type)


async def upload_file(
    uow: UnitOfWork,
    store: Store,
    *,
    data_source_id: int,
    file_name: str,
    chunks: AsyncIterator[bytes],
    content_type: str | None = None,
    principal: Principal = SYSTEM,
) -> StoredItem:
    """A direct upload (through the gateway): a stored item is made, the bytes stream to the store, and the
    item is published. A failed upload leaves no stored item behind."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload"
    object_key = _object_key(data_source_id, f"{uuid7()}/{name}")
    async with uow:
        source = await _data_source(uow, data_source_id, principal)
        item = await uow.stored_items.add(
            NewStoredItem(
                dataset_id=source.parent_id or 0,
                data_source_id=data_source_id,
                object_key=object_key,
                file_name=name,
                content_type=content_type,
            )
        )
        await uow.commit()
    try:
        size, sha256 = await _stream_to_store(store, object_key, chunks)
    except BaseException:
        async with uow:
            await uow.stored_items.remove(item.id)
            await uow.commit()
        raise
    return await _complete(uow, item.id, size=size, sha256=sha256, content_type=content_type)


async def _complete(
    uow: UnitOfWork, item_id: int, *, size: int, sha256: str, content_type: str | None
) -> StoredItem:
    async with uow:
        item = await uow.stored_items.get(item_id, lock=True)
        if item is None:
            raise NotFound(f"stored item {item_id} was deleted during its upload")
        values: dict[str, object] = {"size": size, "sha256": sha256, "state": ItemState.STORED.value}
        values["stored_at"] = datetime.now(UTC)
        if content_type:
            values["content_type"] = content_type
        item = await uow.stored_items.update(item_id, **values)
        item = await _publish(uow, item)
        await uow.commit()
    log.info("stored_item_uploaded", stored_item_id=item_id, size=size, state=item.state)
    return item


async def _publish(uow: UnitOfWork, item: StoredItem, *, replace: bool = False) -> StoredItem:
    """A new ingestion job for `item` and its `file.stored` in the outbox; a file whose bytes its dataset
    ignores is marked ignored instead (its job ends at once, saying so)."""
    assert item.sha256 is not None
    assert item.size is not None
    job = await uow.ingestion_jobs.add(item, replace=replace)
    ignored_as = await uow.stored_items.ignored_as(item.dataset_id, item.sha256)
    if ignored_as is not None and ignored_as != item.id:
        await uow.ingestion_jobs.end(
            job.id,
            JobEnd(
                state=JobState.FINISHED,
                error=f"skipped: the same bytes as stored item {ignored_as}, which is ignored (ignore_file)",
            ),
        )
        return await uow.stored_items.update(
            item.id,
            state=ItemState.IGNORED.value,
            ignore_file=True,
            duplicate_of_id=ignored_as,
            current_job_id=job.id,
        )
    uow.publish(
        FileStored(
            dataset_id=item.dataset_id,
            data_source_id=item.data_source_id,
            stored_item_id=item.id,
            object_key=item.object_key,
            size=item.size,
            sha256=item.sha256,
            content_type=item.content_type,
            file_name=item.file_name,
            stored_at=item.stored_at or datetime.now(UTC),
        )
    )
    return await uow.stored_items.update(item.id, state=ItemState.PUBLISHED.value, current_job_id=job.id)


async def _hash_object(store: Store, key: str) -> tuple[int, str]:
    """Size and SHA-256 of a stored object (the stores give no SHA-256 of their own): downloaded once."""
    with tempfile.TemporaryDirectory(prefix="headwater-hash-") as folder:
        stored = await store.download_to(key, Path(folder) / "object")
        return stored.size, stored.sha256


async def publish_stored_item(
    uow: UnitOfWork, store: Store, item_id: int, principal: Principal = SYSTEM
) -> int:
    """Publish Stored Item For Ingestion: after a pre-signed upload the object is looked up (404 → 400) and
    hashed, then the item is published; an item published already answers its current job."""
    async with uow:
        item = await _item(uow, item_id, principal)
    if item.state == ItemState.WAITING_FOR_UPLOAD:
        try:
            await store.head(item.object_key)
        except ObjectNotFound as e:
            raise Invalid(
                f"nothing was uploaded for stored item {item_id} yet: PUT the file to its upload URL first"
            ) from e
        size, sha256 = await _hash_object(store, item.object_key)
        if size == 0:
            raise Invalid("the uploaded file is empty (0 bytes): upload the file's content again")
        async with uow:
            item = await _item(uow, item_id, principal, lock=True)
            if item.state == ItemState.WAITING_FOR_UPLOAD:
                item = await uow.stored_items.update(
                    item_id,
                    size=size,
                    sha256=sha256,
                    state=ItemState.STORED.value,
                    stored_at=datetime.now(UTC),
                )
                item = await _publish(uow, item)
                await uow.commit()
    async with uow:
        item = await _item(uow, item_id, principal, lock=True)
        if item.state in (ItemState.STORED, ItemState.FAILED):
            item = await _publish(uow, item)
            await uow.commit()
    assert item.current_job_id is not None
    return item.current_job_id


async def patch_stored_item(
    uow: UnitOfWork,
    warehouses: Warehouses,
    *,
    item_id: int,
    ignore_file: bool,
    default_dsn: str,
    principal: Principal = SYSTEM,
) -> StoredItem:
    """Patch Stored Item: `ignore_file` true drops the file's rows and bad rows from the destination and
    remembers its bytes (the same file is skipped from then on); false forgets them (Run Ingestion Job Now
    loads it again)."""
    async with uow:
        item = await _item(uow, item_id, principal)
        if item.ignore_file == ignore_file:
            return item
        dataset = destination = None
        if ignore_file:
            dataset = await uow.datasets.get(item.dataset_id)
            destination = (
                await uow.destinations.get(dataset.parent_id) if dataset and dataset.parent_id else None
            )
    if ignore_file:
        if dataset is None or dataset.state == "deleted":
            raise NotFound(f"the dataset of stored item {item_id} is gone")
        target = target_for(dataset, destination, default_dsn)
        warehouse = await warehouses.warehouse(target.dsn, target.schema)
        dropped = await drop_file_rows(warehouse, table=target.table, stored_item_id=item_id)
        log.info("stored_item_ignored", stored_item_id=item_id, rows_deleted=dropped.rows_deleted)
    async with uow:
        item = await _item(uow, item_id, principal, lock=True)
        if ignore_file:
            if item.sha256:
                await uow.stored_items.ignore_content(item.dataset_id, item.sha256, item.id)
            item = await uow.stored_items.update(
                item_id, ignore_file=True, state=ItemState.IGNORED.value, rows_loaded=0, rows_quarantined=0
            )
        else:
            if item.sha256:
                await uow.stored_items.unignore_content(item.dataset_id, item.sha256)
            state = ItemState.STORED if item.sha256 else ItemState.WAITING_FOR_UPLOAD
            item = await uow.stored_items.update(item_id, ignore_file=False, state=state.value)
        await uow.commit()
    return item


async def delete_stored_item(
    uow: UnitOfWork, store: Store, item_id: int, principal: Principal = SYSTEM
) -> str:
    """Delete Stored Item: its record and its object; a file that is being or was ingested is ignored instead
    (its rows would stay in the destination otherwise)."""
    async with uow:
        item = await _item(uow, item_id, principal, lock=True)
        if item.state in (ItemState.PUBLISHED, ItemState.INGESTING, ItemState.INGESTED):
            raise Conflict(
                f"stored item {item_id} is {item.state}: ignore it (ignore_file) to drop its rows instead"
            )
        await uow.stored_items.remove(item_id)
        await uow.commit()
    await store.delete(item.object_key)
    return f"stored item {item_id} deleted"


# -- files that landed in the store on their own (`ingress.files`) -------------------------------------------------


class FileLanded(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An `ingress.files` message: a file landed at `uri` (in Headwater's object store) for a data source."""

    data_source_id: int
    uri: str
    file_name: str | None = None
    content_type: str | None = None


def decode_file_landed(data: bytes) -> FileLanded:
    return msgspec.json.decode(data, type=FileLanded)


class Rejected(msgspec.Struct, frozen=True):
    index: int
    reason: str


def key_in_store(store_url: str, uri: str) -> str:
    """The object key of `uri` in the store at `store_url`; `Invalid` when the URI is elsewhere."""
    base = store_url.rstrip("/") + "/"
    if not uri.startswith(base):
        raise Invalid(f"{uri!r} is not in Headwater's object store ({store_url})")
    try:
        return validate_key(uri.removeprefix(base))
    except InvalidKey as e:
        raise Invalid(str(e)) from e


async def record_landed_files(uow: UnitOfWork, store: Store, landed: list[FileLanded]) -> list[Rejected]:
    """Each landed file becomes a stored item (once per object key: a re-sent message changes nothing) and is
    published; a file outside the store, of an unknown data source or no longer there is rejected."""
    rejected: list[Rejected] = []
    for index, message in enumerate(landed):
        try:
            key = key_in_store(store.url, message.uri)
            async with uow:
                source = await _data_source(uow, message.data_source_id, SYSTEM)
                if await uow.stored_items.by_key(key) is not None:
                    continue
            size, sha256 = await _hash_object(store, key)
        except (Invalid, NotFound) as e:
            rejected.append(Rejected(index, e.detail))
            continue
        except ObjectNotFound:
            rejected.append(Rejected(index, f"no object at {message.uri}"))
            continue
        if size == 0:
            rejected.append(Rejected(index, f"the file at {message.uri} is empty"))
            continue
        async with uow:
            item = await store_landed_object(
                uow,
                source,
                key=key,
                size=size,
                sha256=sha256,
                file_name=message.file_name,
                content_type=message.content_type,
            )
            if item is None:
                continue
            await uow.commit()
        log.info("landed_file_stored", stored_item_id=item.id, key=key)
    return rejected


async def store_landed_object(
    uow: UnitOfWork,
    source: Stored,
    *,
    key: str,
    size: int,
    sha256: str,
    file_name: str | None = None,
    content_type: str | None = None,
) -> StoredItem | None:
    """An object already in the store (landed on its own, or a sensor's snapshot) becomes a stored item of
    `source` and is published, in the caller's transaction; None when a stored item has that key already."""
    if await uow.stored_items.by_key(key) is not None:
        return None
    item = await uow.stored_items.add(
        NewStoredItem(
            dataset_id=source.parent_id or 0,
            data_source_id=source.id,
            object_key=key,
            file_name=file_name or key.rsplit("/", 1)[-1],
            content_type=content_type,
            state=ItemState.STORED,
        )
    )
    item = await uow.stored_items.update(item.id, size=size, sha256=sha256, stored_at=datetime.now(UTC))
    return await _publish(uow, item)
