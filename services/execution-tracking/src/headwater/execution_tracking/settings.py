"""execution-tracking settings, read from `HEADWATER_EXECUTION_TRACKING_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import CommonSettings


class Settings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://execution_tracking:execution_tracking@127.0.0.1:5432/headwater"
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    http_workers: int = 1
    db_pool_size: int = 10
    consumer_group: str = "execution-tracking"
    ingress_batch_size: int = 1000
    lineage_batch_size: int = 200  # OpenLineage events merged per transaction from `ingress.lineage`
    relay_batch_size: int = 500
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9464  # Prometheus metrics of the worker (relay, consumers); 0 turns them off
