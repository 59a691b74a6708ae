"""quality-alerting settings, read from `HEADWATER_QUALITY_ALERTING_*` (then `HEADWATER_*`)."""

from __future__ import annotations

from headwater.common.settings import LOCAL_PORTS, ServiceSettings
from headwater.quality_alerting import SERVICE


class Settings(ServiceSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://quality_alerting:quality_alerting@127.0.0.1:5432/headwater"
    http_port: int = LOCAL_PORTS[SERVICE].http
    consumer_group: str = "quality-alerting"
    events_batch_size: int = 500  # execution/pipeline events applied per transaction
    worker_metrics_port: int = LOCAL_PORTS[SERVICE].worker_metrics
    # Notifications: attempts per delivery, the first retry's delay (doubling after each failure), timeout.
    notification_attempts: int = 5
    notification_backoff_seconds: float = 1.0
    notification_timeout_seconds: float = 10.0
    # Notifications reach public addresses only: comma-separated host names, addresses or CIDR ranges that may
    # be reached although they are loopback, private, link-local or unique-local (an in-house receiver).
    webhook_allow: str = ""
    # Queue monitoring: pending work at or above these levels raises a WARNING / CRITICAL alert.
    queue_warning_threshold: int = 50
    queue_critical_threshold: int = 100
    # The consumer groups whose lag is measured, with the topics each consumes (`group=topic topic; ...`; each
    # service's subscribers say what it consumes, and tests/architecture holds this default to them).
    monitored_consumer_groups: str = (
        "execution-tracking=ingress.runs ingress.lineage anomaly.detected anomaly.cleared retention.requested;"
        " quality-alerting=pipeline.changed execution.started execution.ended file.ingested rows.quarantined"
        " checks.requested retention.requested"
    )
