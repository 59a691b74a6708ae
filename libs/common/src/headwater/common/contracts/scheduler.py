"""The scheduler's internal API: the Watcher check requests (spec 000, Monitoring & Health) and schedule listing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

MIN_LOOKBACK_MINUTES = 5
MAX_LOOKBACK_MINUTES = 10 * 366 * 24 * 60  # ten years: beyond that a lookback is a typo, not a wish
DEFAULT_LOOKBACK_MINUTES = 60

LookbackMinutes = Annotated[
    int,
    Meta(
        ge=MIN_LOOKBACK_MINUTES,
        le=MAX_LOOKBACK_MINUTES,
        description="how far back to look for executions, in minutes (at least 5)",
    ),
]


class TimelinessCheck(Struct, kw_only=True):
    """`POST /timeliness`: check the executions started within the last `lookback_minutes`."""

    lookback_minutes: LookbackMinutes = DEFAULT_LOOKBACK_MINUTES


class CheckQueued(Struct, kw_only=True):
    """The answer of `POST /freshness` and `POST /timeliness`: the check was queued (`queued`)."""

    status: str = "queued"


class QueueMonitorStatus(Struct, kw_only=True):
    """The answer of `POST /celery/monitor-queue`: `success` once the queue check is requested."""

    status: str = "success"


class Schedule(Struct, kw_only=True):
    """A system schedule: its cron expression (UTC), when it is next due and when it last fired."""

    name: str
    cron: str
    enabled: bool
    next_due_at: datetime
    last_fired_at: datetime | None


class ScheduleDue(Struct, kw_only=True):
    """A job's schedule made due (internal): the loop fires it for `due_at`, once."""

    name: str
    due_at: datetime
