"""The Qluster dialect (spec 003) for files: stored items (created for an upload, uploaded, patched to be ignored,
published, deleted) and the ingestion jobs that ingest them.

Field names are spec 003's; what goes beyond it is said where it is declared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct, field

from headwater.common.contracts.qluster import Page
from headwater.common.contracts.types import NAMED, Id

# An object key as a client names it (the store's key is made from it and the data source's id).
Key = Annotated[str, Meta(min_length=1, max_length=1024, pattern=NAMED)]


class StoredItemCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Create A Stored Item For Uploading The File: the data source the file is for and its key."""

    data_source_model_id: Id
    key: Key


class StoredItemPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """Patch Stored Item: `ignore_file` true hides the file's rows and drops its bad rows and alerts."""

    id: Id
    ignore_file: bool


class UploadUrl(Struct, frozen=True, kw_only=True):
    """The answer of Create A Stored Item For Uploading The File: `url` takes one `http_method` of the file's
    bytes (pre-signed by S3 or GCS; with a local store, the gateway's own path, relative, carrying a signed,
    expiring, single-use token)."""

    id: int
    url: str
    http_method: str = "PUT"
    fields: dict[str, str] = field(default_factory=dict[str, str])
    msg: str = ""


class StoredItem(Struct, kw_only=True):
    """Get One Stored Item (and every answer about one). Beyond 003: `file_name`, `content_type`, `size`,
    `sha256` (also its `signature`), `state` (waiting_for_upload, stored, published, ingesting, ingested, failed, ignored),
    `error` (why it failed), `ingestion_job_id` (its current job) and `stored_at`."""

    id: int
    key: str
    file_type: str | None
    data_source_model_id: int
    data_source_model_name: str | None
    bad_rows_count: int
    successful_rows_count: int
    ignored_rows_count: int
    ignore_file: bool
    is_ingested: bool
    is_uploaded_via_signed_url: bool
    created_at: datetime
    parent_id: int | None
    dataset_id: int
    signature: str | None
    other_names: list[str]
    duplicate_of_id: int | None
    ignored_rows_line_number_to_signature: dict[str, str]
    file_name: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    state: str
    error: str | None
    ingestion_job_id: int | None
    stored_at: datetime | None


class StoredItemPage(Page, kw_only=True):
    results: list[StoredItem]
    title: str = "Stored items"


class PublishResult(Struct, kw_only=True):
    """Publish Stored Item For Ingestion: the job that will ingest the file."""

    ingestion_job_id: int


class IngestionJob(Struct, kw_only=True):
    """Get One Ingestion Job. `settings_model_id` is the dataset's id; beyond 003, `rows_read`."""

    id: int
    state: str
    key: str | None
    stored_item_id: int
    data_source_model_id: int
    data_source_model_name: str | None
    settings_model_id: int
    alert_item_id: int | None
    is_alert_resolved: bool | None
    successful_rows_count: int
    bad_rows_count: int
    ignored_rows_count: int
    rows_read: int
    dataset_id: int
    dataset_name: str | None
    msg: str
    try_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class IngestionJobPage(Page, kw_only=True):
    results: list[IngestionJob]
    title: str = "Ingestion jobs"
