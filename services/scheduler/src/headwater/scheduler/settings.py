"""scheduler settings, read from `HEADWATER_SCHEDULER_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import LOCAL_PORTS, ServiceSettings
from headwater.scheduler import SERVICE


class Settings(ServiceSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://scheduler:scheduler@127.0.0.1:5432/headwater"
    http_port: int = LOCAL_PORTS[SERVICE].http
    db_pool_size: int = 5
    consumer_group: str = "scheduler"
    worker_metrics_port: int = LOCAL_PORTS[SERVICE].worker_metrics

    # System schedules: cron expressions in UTC (5 fields, or 6 with seconds last); `off` disables one.
    freshness_cron: str = "0 * * * *"
    timeliness_cron: str = "*/15 * * * *"
    timeliness_lookback_minutes: int = 60
    retention_cron: str = "30 3 * * *"
    retention_days: int = 90
    retention_batch_size: int = 10000
    queue_monitor_cron: str = "*/5 * * * *"

    # The schedule loop of the worker: how often it looks for due schedules at most, and how long a replica's
    # claim on a due schedule lasts before another replica may take it over (a replica that died mid-fire).
    schedule_loop_enabled: bool = True
    schedule_poll_seconds: float = 1.0
    schedule_lease_seconds: float = 60.0
    schedule_claim_batch: int = 100
