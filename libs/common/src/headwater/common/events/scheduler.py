"""Events produced by the scheduler: checks and retention requested, by a system schedule or over the API."""

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
