"""Queue monitoring (`POST /celery/monitor-queue`, every 5 minutes): pending work against the Watcher thresholds.

Pending work is the consumer lag of every service's consumer group plus this service's outbox backlog; at or
above the warning threshold (50) a WARNING alert is raised, at or above the critical one (100) a CRITICAL one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Gauge

from headwater.common.logging import get_logger
from headwater.quality_alerting.domain.alerts import AlertDraft
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.ports import LagReader
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

PENDING = Gauge(
    "headwater_pending_work", "Consumer lag and outbox backlog seen by queue monitoring", ["source"]
)


@dataclass(frozen=True)
class QueueReport:
    consumer_lag: dict[str, int]
    outbox_backlog: dict[str, int]
    pending: int
    level: str | None  # None, `warning` or `critical`
    alert_id: int | None = None


def level_of(pending: int, *, warning: int, critical: int) -> str | None:
    if pending >= critical:
        return "critical"
    if pending >= warning:
        return "warning"
    return None


async def monitor_queue(
    uow: UnitOfWork, read_lag: LagReader, now: datetime, *, warning: int, critical: int
) -> QueueReport:
    """Measure pending work and raise an alert at the warning or critical level (at most one per level per
    hour: the check runs every 5 minutes and a lasting backlog is one condition, not twelve)."""
    lag = await read_lag()
    async with uow:
        backlog = {"quality-alerting": await uow.outbox_messages.count_unsent()}
        pending = sum(lag.values()) + sum(backlog.values())
        level = level_of(pending, warning=warning, critical=critical)
        alert_id = None
        if level is not None:
            rows = await raise_alerts(
                uow,
                [
                    AlertDraft(
                        alert_type="queue_backlog",
                        severity=level,
                        msg=f"{level.upper()}: {pending} messages pending "
                        f"(threshold {critical if level == 'critical' else warning})",
                        dedup_key=f"queue_backlog:{level}:{now.strftime('%Y-%m-%dT%H')}",
                        condition_key="queue_backlog",
                        body={
                            "pending": pending,
                            "consumer_lag": lag,
                            "outbox_backlog": backlog,
                            "warning_threshold": warning,
                            "critical_threshold": critical,
                        },
                    )
                ],
            )
            alert_id = rows[0].id if rows else None
        await uow.commit()
    for group, value in lag.items():
        PENDING.labels(f"lag:{group}").set(value)
    PENDING.labels("outbox:quality-alerting").set(backlog["quality-alerting"])
    log.info("queue_monitored", pending=pending, alert_level=level, consumer_lag=lag)
    return QueueReport(lag, backlog, pending, level, alert_id)
