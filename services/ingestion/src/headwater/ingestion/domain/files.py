"""Stored items (files) and their ingestion jobs: the records, their states, and how a dataset's metadata
becomes what the engine needs (parse settings, field rules, the destination and the table).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import msgspec


class ItemState(StrEnum):
    """Where a stored item is: created for an upload that has not arrived, its bytes stored, published for
    ingestion, being ingested, ingested, failed (unreadable, or its job killed), or ignored (`ignore_file`)."""

    WAITING_FOR_UPLOAD = "waiting_for_upload"
    STORED = "stored"
    PUBLISHED = "published"
    INGESTING = "ingesting"
    INGESTED = "ingested"
    FAILED = "failed"
    IGNORED = "ignored"


class JobState(StrEnum):
    """003's `IngestionJobState` (the ones Headwater uses: created, running, error, killed, finished, requeued)."""

    CREATED = "created"
    RUNNING = "running"
    BLOCKED = "blocked"
    STOPPED = "stopped"
    ERROR = "error"
    KILLED = "killed"
    VERSION_ID_MISMATCH = "version_id_mismatch"
    FINISHED = "finished"
    REQUEUED = "requeued"


# A job in one of these still has work to do when its file.stored arrives.
PENDING_JOB_STATES = (JobState.CREATED, JobState.REQUEUED, JobState.RUNNING)
ENDED_JOB_STATES = (JobState.ERROR, JobState.KILLED, JobState.FINISHED)


class StoredItem(msgspec.Struct, frozen=True, kw_only=True):
    """A file of a data source: where its bytes are (`object_key`), what they are (size, sha256 once stored),
    its state and its latest ingestion job (`current_job_id`)."""

    id: int
    dataset_id: int
    data_source_id: int
    object_key: str
    file_name: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    state: str
    ignore_file: bool
    is_uploaded_via_signed_url: bool
    parent_id: int | None
    duplicate_of_id: int | None
    current_job_id: int | None
    rows_loaded: int
    rows_quarantined: int
    rows_ignored: int
    error: str | None
    stored_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


class NewStoredItem(msgspec.Struct, frozen=True, kw_only=True):
    dataset_id: int
    data_source_id: int
    object_key: str
    file_name: str | None = None
    content_type: str | None = None
    is_uploaded_via_signed_url: bool = False
    state: str = ItemState.WAITING_FOR_UPLOAD


class IngestionJob(msgspec.Struct, frozen=True, kw_only=True):
    """One ingestion of a stored item: its state, its tries, its counts, and why it failed (`error`)."""

    id: int
    stored_item_id: int
    dataset_id: int
    data_source_id: int
    state: str
    replace: bool
    try_count: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_ignored: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class JobEnd(msgspec.Struct, frozen=True, kw_only=True):
    """How a job ended: its state, counts and error."""

    state: JobState
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_ignored: int = 0
    bad_rows_by_alert_type: dict[str, int] = msgspec.field(default_factory=dict[str, int])
    error: str | None = None


@dataclass(frozen=True)
class ItemFilter:
    """What Get Stored Items selects (003's filters) and, for a `limited_to_source` caller, the data sources it
    may see (None: any)."""

    data_source_id: int | None = None
    parent_id: int | None = None
    is_uploaded_via_signed_url: bool | None = None
    data_sources: tuple[int, ...] | None = None


@dataclass(frozen=True)
class JobFilter:
    """What Get Ingestion Jobs selects (003's filters; the settings model of a dataset is the dataset)."""

    dataset_id: int | None = None
    data_source_id: int | None = None
    state: str | None = None
    data_sources: tuple[int, ...] | None = None


# -- what the engine needs, from the stored metadata ---------------------------------------------------------------


class InvalidIngestSettings(ValueError):
    """The dataset's or data source's settings cannot drive an ingestion (the message says which and why)."""


def object_key_for(data_source_id: int, key: str) -> str:
    """Where an uploaded file is kept: under its data source, by the key the client chose."""
    return f"data-sources/{data_source_id}/{key.lstrip('/')}"


def run_id_of(job_id: int, try_count: int) -> str:
    """The run a job's try reports to `ingress.runs` (the same on a re-send, so a re-send is harmless)."""
    return f"qluster-ingestion-job-{job_id}-try-{try_count}"
