"""Events produced by the scheduler: checks and retention requested, by a system schedule or over the API; a
scheduled job's run requested."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from headwater.common.events.base import Event


class ChecksRequested(Event, frozen=True, kw_only=True, tag="checks.requested.v1"):
    """A check is due: `freshness`, `timeliness` (with its lookback) or `queue` (queue monitoring).

    Producer: the scheduler, when a system schedule fires (`schedule` names it) or when `POST /freshness`,
    `POST /timeliness` or `POST /celery/monitor-queue` asks for one (`schedule` is null). Topic
    `checks.requested`, key: the check. Consumer: quality-alerting. Checks are idempotent (each condition is
    logged and alerted once), so a redelivered request changes nothing.
    """

    key_field: ClassVar[str] = "check"

    check: str
    lookback_minutes: int | None = None
    schedule: str | None = None
    due_at: datetime | None = None


class RetentionRequested(Event, frozen=True, kw_only=True, tag="retention.requested.v1"):
    """Data older than `cutoff` should be deleted, in batches of `batch_size`, children before parents.

    Producer: the scheduler, when the daily retention schedule fires. Topic `retention.requested`, key:
    `name` (`retention`). Consumers: every service that holds time-based data (execution-tracking, quality-alerting,
    ingestion). `POST /log_cleanup` does the same synchronously through the gateway.
    """

    key_field: ClassVar[str] = "name"

    name: str = "retention"
    retention_days: int
    batch_size: int = 10000
    cutoff: datetime
    schedule: str | None = None


class JobRunRequested(Event, frozen=True, kw_only=True, tag="job.run.requested.v1"):
    """A scheduled job is due: run it once.

    Producer: the scheduler, when the schedule it keeps for a job (from `job.changed`) fires, on its cron or
    because Run Sensor Cronjob Now made it due at once. Topic `job.run.requested`, key: `job`. Consumer: the
    service that owns the job, by `kind`: ingestion runs a data source's sensor (`sensor`, with
    `data_source_id`) or a sync job (`sync`, with `job_id`; "sync now" publishes the same request itself). One firing per (job, due time); a redelivered request must change nothing.
    """

    key_field: ClassVar[str] = "job"

    job: str
    kind: str
    data_source_id: int | None = None
    job_id: int | None = None
    due_at: datetime
    schedule: str | None = None
