"""Retention: `POST /log_cleanup` and `retention.requested` delete old data in committed batches."""

from __future__ import annotations

from datetime import datetime

from headwater.common.contracts.watcher import LogCleanupCounts
from headwater.common.logging import get_logger
from headwater.common.metrics import RETENTION_DELETED as DELETED
from headwater.common.retention import Retention
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)


# What is deleted, in this order. Deliveries go with their alerts; unresolved alerts are kept whatever their age.
TABLES = ("anomaly_result", "freshness_log", "timeliness_log", "execution_metric", "alert")

# Which of the six documented counts each table adds to.
COUNTED = {
    "anomaly_result": "total_anomaly_detection_results_deleted",
    "freshness_log": "total_freshness_pipeline_logs_deleted",
    "timeliness_log": "total_timeliness_pipeline_execution_logs_deleted",
}


async def delete_old_data(uow: UnitOfWork, *, cutoff: datetime, batch_size: int) -> LogCleanupCounts:
    """Delete what is older than `cutoff`, table by table in batches of `batch_size`, each batch committed."""
    counts = LogCleanupCounts()
    deleted: dict[str, int] = {}
    for table in TABLES:
        while True:
            async with uow:
                n = await uow.retention.delete_batch(table, cutoff, batch_size)
                await uow.commit()
            deleted[table] = deleted.get(table, 0) + n
            DELETED.labels(table).inc(n)
            if n < batch_size:
                break
        if table in COUNTED:
            setattr(counts, COUNTED[table], deleted[table])
    log.info("retention_done", cutoff=cutoff.isoformat(), deleted=deleted)
    return counts


RETENTION = Retention(delete_old_data)
"""`POST /log_cleanup` (`RETENTION.clean_up_logs`) and `retention.requested` (`RETENTION.apply_requests`)."""
