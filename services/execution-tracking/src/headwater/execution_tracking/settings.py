"""execution-tracking settings, read from `HEADWATER_EXECUTION_TRACKING_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import LOCAL_PORTS, ServiceSettings
from headwater.execution_tracking import SERVICE


class Settings(ServiceSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://execution_tracking:execution_tracking@127.0.0.1:5432/headwater"
    http_port: int = LOCAL_PORTS[SERVICE].http
    consumer_group: str = "execution-tracking"
    ingress_batch_size: int = 1000
    lineage_batch_size: int = 200  # OpenLineage events merged per transaction from `ingress.lineage`
    lineage_timeout_seconds: float = 30.0  # the longest a lineage graph walk may take (then 503)
    worker_metrics_port: int = LOCAL_PORTS[SERVICE].worker_metrics
