"""scheduler settings, read from `HEADWATER_SCHEDULER_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import CommonSettings


class Settings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://scheduler:scheduler@127.0.0.1:5432/headwater"
    http_host: str = "127.0.0.1"
    http_port: int = 8083
    http_workers: int = 1
    db_pool_size: int = 5
    consumer_group: str = "scheduler"
    relay_batch_size: int = 500
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9466  # Prometheus metrics of the worker; 0 turns them off
