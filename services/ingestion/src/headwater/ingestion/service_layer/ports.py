"""Ports of ingestion's use cases: the metadata repositories behind the unit of work (Postgres implements them in
`adapters/db`) and the destination warehouse (`adapters/warehouse`). Protocols only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from headwater.ingestion.arrow import RecordBatch
from headwater.ingestion.domain.connectors import Destination, Source
from headwater.ingestion.domain.files import (
    IngestionJob,
    ItemFilter,
    JobEnd,
    JobFilter,
    NewStoredItem,
    StoredItem,
)
from headwater.ingestion.domain.metadata import (
    Filter,
    HistoryEntry,
    Stored,
)
from headwater.ingestion.domain.objects import ObjectInfo, StoredObject
from headwater.ingestion.domain.parsing import FileFormat, ParseSettings
from headwater.ingestion.domain.queue import QueueFilter, QueueMessage, Rescheduled
from headwater.ingestion.domain.records import (
    DataPage,
    EncodedRows,
    IgnoredFile,
    LoadSummary,
    OfDataSource,
    QuarantinedRow,
    QuarantineRecord,
    RawBatch,
)
from headwater.ingestion.domain.sensors import Seen, SensorState, WatchedBucket
from headwater.ingestion.domain.syncs import Connection, Job, LogLine, Role, RunStatus, StreamConfig, SyncRun
from headwater.ingestion.domain.validation import FieldRule


class Documents(Protocol):
    """Versioned documents of one kind (datasets, destinations, data sources); each write is kept in history."""

    async def add(
        self, *, state: str, name: str | None, parent_id: int | None, body: dict[str, Any], by: str | None
    ) -> Stored: ...

    async def get(
        self, entity_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> Stored | None:
        """The document if it exists and `data_sources` (None: any) let the caller see it; `lock` holds it
        until the transaction ends."""
        ...

    async def replace(
        self,
        current: Stored,
        *,
        state: str,
        name: str | None,
        parent_id: int | None,
        body: dict[str, Any],
        by: str | None,
        change: str = "updated",
    ) -> Stored: ...

    async def history(self, entity_id: int) -> list[HistoryEntry]: ...

    async def walk(
        self, matching: Filter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Stored]: ...

    async def names(self, ids: Sequence[int]) -> dict[int, str | None]: ...

    async def last_change(self, entity_id: int) -> datetime | None: ...

    async def count(self, matching: Filter) -> int: ...


class FieldValidations(Protocol):
    async def get(self, dataset_id: int, field_name: str) -> dict[str, Any] | None: ...

    async def put(self, dataset_id: int, field_name: str, rules: dict[str, Any]) -> None: ...

    async def of_dataset(self, dataset_id: int) -> dict[str, dict[str, Any]]: ...


class IgnoredSignatures(Protocol):
    """Line signatures of a dataset's data sources whose rows are dropped (now and in future files)."""

    async def add(self, dataset_id: int, pairs: Sequence[tuple[int, str]], by: str | None) -> int:
        """Records each (data source, signature) not recorded yet; returns how many were new."""
        ...

    async def signatures_for(self, dataset_id: int, data_source_id: int | None = None) -> set[str]:
        """The dataset's ignored signatures (only those of `data_source_id` when given): what the worker passes
        to `ingest_file(ignored_signatures=...)`."""
        ...


class QueueMessages(Protocol):
    """The service's outbox and outbox quarantine, read and replayed by an operator."""

    async def walk(
        self, matching: QueueFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[QueueMessage]: ...

    async def get(
        self, message_id: int, data_sources: Sequence[int] | None = None
    ) -> QueueMessage | None: ...

    async def reschedule(self, ids: Sequence[int]) -> Rescheduled:
        """Puts quarantined messages back in the outbox and marks sent ones unsent, so the relay sends them."""
        ...


class Loading(Protocol):
    """One file's load, all or nothing."""

    @property
    def previous(self) -> LoadSummary | None: ...

    @property
    def already_loaded(self) -> bool: ...

    @property
    def column_types(self) -> Mapping[str, str]:
        """The table's columns and their types, as the load found them (for `Warehouse.encode_rows`)."""
        ...

    async def copy_rows(self, rows: EncodedRows) -> None: ...

    async def copy_bad_rows(self, records: Sequence[QuarantineRecord]) -> None: ...

    async def finish(self, summary: LoadSummary) -> None: ...


class Reprocessing(Protocol):
    rows: list[QuarantinedRow]

    async def move(self, rows: EncodedRows, ids: Sequence[int]) -> None: ...

    async def update_reasons(self, reasons: Sequence[tuple[int, str, str | None, str, str]]) -> None: ...


class Warehouse(Protocol):
    async def ensure_table(self, table: str, rules: Sequence[FieldRule]) -> None: ...

    def loading(
        self, table: str, stored_item_id: int, *, replace: bool = False
    ) -> AbstractAsyncContextManager[Loading]: ...

    def reprocessing(
        self,
        table: str,
        *,
        after_id: int,
        limit: int,
        ids: Sequence[int] | None = None,
        source: OfDataSource | None = None,
    ) -> AbstractAsyncContextManager[Reprocessing]: ...

    async def ignore_file(self, table: str, stored_item_id: int) -> IgnoredFile: ...

    async def delete_bad_rows_with_signatures(
        self, table: str, data_source_id: int, signatures: Sequence[str]
    ) -> int: ...

    async def read_page(
        self,
        table: str,
        rules: Sequence[FieldRule],
        *,
        page: int = 1,
        limit: int = 20,
        data_source_id: int | None = None,
        stored_item_id: int | None = None,
        is_bad_data: bool = False,
        order_by: Sequence[str] = ("~id",),
    ) -> DataPage: ...

    def encode_rows(self, batch: RecordBatch, column_types: Mapping[str, str] | None = None) -> EncodedRows:
        """Rows as the warehouse's bulk-load input, for a table of `column_types` (`Loading.column_types`;
        None: a form the warehouse converts to any column type). CPU work, thread-safe: called off the event
        loop."""
        ...


class FileReader(Protocol):
    """One open file: its format, and its rows in batches of at most `batch_rows` (memory stays bounded)."""

    @property
    def file_format(self) -> FileFormat: ...

    def batches(self, batch_rows: int) -> Iterator[RawBatch]: ...


# Opens a local file with a data source's parse settings (the format detected from its bytes unless given);
# raises `UnreadableFile`. `adapters.files.open_file` is the one the service uses.
OpenFile = Callable[[Path, ParseSettings, FileFormat | None], FileReader]


class StoredItems(Protocol):
    """Stored items (files), the nonces of their signed uploads and the contents a dataset ignores."""

    async def add(self, item: NewStoredItem) -> StoredItem: ...

    async def get(
        self, item_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> StoredItem | None: ...

    async def by_key(self, object_key: str) -> StoredItem | None: ...

    async def update(self, item_id: int, **values: Any) -> StoredItem: ...

    async def remove(self, item_id: int) -> None: ...

    async def walk(
        self, matching: ItemFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[StoredItem]: ...

    async def use_nonce(self, item_id: int, nonce: str) -> bool: ...

    async def ignore_content(self, dataset_id: int, sha256: str, item_id: int) -> None: ...

    async def unignore_content(self, dataset_id: int, sha256: str) -> None: ...

    async def ignored_as(self, dataset_id: int, sha256: str) -> int | None: ...


class IngestionJobs(Protocol):
    async def add(self, item: StoredItem, *, replace: bool = False) -> IngestionJob: ...

    async def get(
        self, job_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> IngestionJob | None: ...

    async def state_of(self, job_id: int) -> str | None: ...

    async def start(self, job_id: int) -> IngestionJob: ...

    async def end(self, job_id: int, end: JobEnd) -> IngestionJob: ...

    async def walk(
        self, matching: JobFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[IngestionJob]: ...


class Sensors(Protocol):
    """Each data source's sensor (its `job.changed` version, its cron switched off) and the objects it saw."""

    async def get(self, data_source_id: int, *, lock: bool = False) -> SensorState | None: ...

    async def change(self, data_source_id: int, *, cron_disabled: bool) -> SensorState: ...

    async def ran(self, data_source_id: int, at: datetime) -> None: ...

    async def seen(self, data_source_id: int, prefix: str) -> dict[str, Seen]: ...

    async def record(self, data_source_id: int, seen: Seen) -> bool:
        """Record this version of an object; False when it was recorded already (a racing run)."""
        ...

    async def link(self, data_source_id: int, key: str, stored_item_id: int) -> None: ...


class Warehouses(Protocol):
    """The destinations' warehouses, opened once per (DSN, schema) and kept for the life of the process."""

    async def warehouse(self, dsn: str, schema: str) -> Warehouse: ...


class Store(Protocol):
    """The object store the files are kept in (`adapters/storage.ObjectStore`)."""

    @property
    def url(self) -> str: ...

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject: ...

    async def download_to(self, key: str, path: Path) -> StoredObject: ...

    def open(self, key: str, *, chunk_bytes: int = 1024 * 1024) -> AsyncIterator[bytes]: ...

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]: ...

    async def head(self, key: str) -> ObjectInfo: ...

    async def delete(self, key: str) -> None: ...

    async def presigned_put_url(self, key: str, expires: timedelta) -> str: ...


# -- syncs ---------------------------------------------------------------------------------------------------------


class Connections(Protocol):
    """Sources and destinations of a project (configurations sealed); deleted ones stay readable."""

    async def add(
        self, role: Role, project_id: str, *, name: str, kind: str, version: str, sealed: str, by: str | None
    ) -> Connection: ...

    async def get(
        self, role: Role, project_id: str, connection_id: int, *, lock: bool = False
    ) -> Connection | None: ...

    async def by_id(self, connection_id: int) -> Connection | None: ...

    async def named(self, role: Role, project_id: str, name: str) -> Connection | None: ...

    async def live(self, role: Role, project_id: str) -> list[Connection]: ...

    async def replace(
        self, connection_id: int, *, name: str, kind: str, version: str, sealed: str, by: str | None
    ) -> Connection: ...

    async def delete(self, connection_id: int, by: str | None) -> None: ...


class Jobs(Protocol):
    async def add(
        self,
        project_id: str,
        *,
        name: str,
        source_id: int,
        destination_id: int,
        streams: Sequence[StreamConfig],
        frequency: str | None,
        active: bool,
        extra: Mapping[str, Any],
        by: str | None,
    ) -> Job: ...

    async def get(self, job_id: int, project_id: str | None = None, *, lock: bool = False) -> Job | None: ...

    async def live(
        self, project_id: str, *, source_id: int | None = None, destination_id: int | None = None
    ) -> list[Job]: ...

    async def using(self, connection_id: int) -> list[Job]: ...

    async def replace(
        self,
        job: Job,
        *,
        name: str,
        source_id: int,
        destination_id: int,
        streams: Sequence[StreamConfig],
        frequency: str | None,
        active: bool,
        extra: Mapping[str, Any],
        by: str | None,
    ) -> Job: ...

    async def delete(self, job_id: int, by: str | None) -> Job: ...


class SyncRuns(Protocol):
    """Runs of jobs (one queued or running per job), the streams' saved states and the runs' log lines."""

    async def queue(self, run_id: str, job_id: int, *, trigger: str, at: datetime) -> SyncRun | None: ...

    async def claim(self, *, now: datetime, lease_until: datetime) -> SyncRun | None: ...

    async def renew(self, run_id: str, lease_until: datetime) -> bool: ...

    async def skipped(self, run_id: str, job_id: int, *, trigger: str, at: datetime, reason: str) -> None: ...

    async def get(self, run_id: str) -> SyncRun | None: ...

    async def of_job(self, job_id: int, *, limit: int = 100) -> list[SyncRun]: ...

    async def latest(self, job_ids: Sequence[int]) -> dict[int, SyncRun]: ...

    async def count_rows(self, run_id: str, stream: str, rows: int) -> None: ...

    async def finish(
        self, run_id: str, status: RunStatus, *, at: datetime, error: str | None = None
    ) -> bool: ...

    async def request_cancel(self, job_id: int) -> SyncRun | None: ...

    async def cancel_requested(self, run_id: str) -> bool: ...

    async def states(self, job_id: int) -> dict[str, dict[str, Any]]: ...

    async def save_state(self, job_id: int, stream: str, state: Mapping[str, Any]) -> None: ...

    async def clear_state(self, job_id: int, stream: str) -> None: ...

    async def log(self, run_id: str, lines: Sequence[LogLine]) -> None: ...

    async def logs(self, run_id: str, *, limit: int = 10_000) -> list[LogLine]: ...


class Sealer(Protocol):
    """Encrypts connection configurations for storage and opens them (adapters/secrets.py)."""

    def seal(self, value: dict[str, Any]) -> str: ...

    def open(self, sealed: str) -> dict[str, Any]: ...


class Connectors(Protocol):
    """The connector registry: the source and destination of each kind (adapters/connectors)."""

    def sources(self) -> Mapping[str, Source]: ...

    def destinations(self) -> Mapping[str, Destination]: ...


class Buckets(Protocol):
    """The stores of users' buckets that sensors list (`adapters/storage.BucketStores`)."""

    def store_of(self, bucket: WatchedBucket) -> Store:
        """A store of `bucket` (nothing contacted yet); `BucketRefused` when the operator's settings forbid it."""
        ...
