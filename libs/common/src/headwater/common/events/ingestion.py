"""Events produced by ingestion: a file stored, a file ingested (parsed, validated, loaded), rows quarantined;
and a job's timing changed (a data source's sensor cron).

The file facts are about one dataset and keyed by its id, so that one dataset's facts stay in order; `job.changed`
is keyed by the job's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from headwater.common.events.base import Event


class DatasetEvent(Event, frozen=True, kw_only=True):
    """An event about one dataset (and the data source whose file it concerns), keyed by the dataset id."""

    key_field: ClassVar[str] = "dataset_id"

    dataset_id: int
    data_source_id: int


class FileStored(DatasetEvent, frozen=True, kw_only=True, tag="file.stored.v1"):
    """A file was uploaded for a data source and kept in the object store, byte for byte.

    Producer: ingestion, once the object is written and its stored item recorded. Topic `file.stored`, key:
    dataset id. Consumer: ingestion's own worker (it parses, validates and loads the file), any other consumer.
    `sha256` is the hex digest of the bytes stored at `object_key` (`size` bytes).
    """

    stored_item_id: int
    object_key: str
    size: int
    sha256: str
    content_type: str | None = None
    file_name: str | None = None
    stored_at: datetime


class FileIngested(DatasetEvent, frozen=True, kw_only=True, tag="file.ingested.v1"):
    """A stored file was parsed, validated and loaded (`ok`), or its ingestion stopped on a fatal error
    (`failed`, `fatal_error` saying why).

    Producer: ingestion. Topic `file.ingested`, key: dataset id. Consumer: quality-alerting (ingestion alerts),
    any other consumer. Rows read = loaded + quarantined + ignored when `ok`; a failed ingestion loads nothing.
    """

    stored_item_id: int
    status: Literal["ok", "failed"]
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_ignored: int = 0
    fatal_error: str | None = None
    started_at: datetime
    ended_at: datetime


class RowsQuarantined(DatasetEvent, frozen=True, kw_only=True, tag="rows.quarantined.v1"):
    """Rows of a stored file failed validation and were quarantined instead of loaded.

    Producer: ingestion, once per ingested file with quarantined rows. Topic `rows.quarantined`, key: dataset
    id. Consumer: quality-alerting. `counts` is the number of rows per alert type (e.g. `type_mismatch`,
    `required_missing`); `sample_reasons` a few of the reasons, for a notification; `blocking` says whether the
    quarantine stopped the file from loading at all (the dataset's validation blocks on these alert types).
    """

    stored_item_id: int
    counts: dict[str, int] = msgspec.field(default_factory=dict[str, int])
    sample_reasons: list[str] = msgspec.field(default_factory=list[str])
    blocking: bool = False


class JobChanged(Event, frozen=True, kw_only=True, tag="job.changed.v1"):
    """A job that runs on a schedule was created, changed, disabled or removed.

    Producer: ingestion, when a data source's sensor (its `schedule` cron watching a prefix of the object store)
    is created, changed, disabled (Disable Sensor Cronjob Now, or the data source leaves `active`) or deleted
    (`kind` `sensor`, with `data_source_id`), and when a sync job (a source copied into a destination on a cron)
    is created, changed, activated, deactivated or deleted (`kind` `sync`, with `job_id`). Topic `job.changed`,
    key: `job` (e.g. `sensor-7` or `sync-3`, the name its runs and fatal errors carry). Consumer: the
    scheduler, which keeps one schedule per job and publishes `job.run.requested` when it is due.

    `cron` is the job's cron expression (UTC, validated by the producer), None when it has none; a job with no
    cron or `enabled` false never fires; `removed` drops the schedule. `version` grows with every change of one
    job, so a consumer ignores a change older than one it applied.
    """

    key_field: ClassVar[str] = "job"

    job: str
    kind: Literal["sensor", "sync"] = "sensor"
    version: int
    cron: str | None = None
    enabled: bool = True
    removed: bool = False
    data_source_id: int | None = None
    job_id: int | None = None
