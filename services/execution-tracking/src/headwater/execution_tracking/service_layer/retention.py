"""Retention: `POST /log_cleanup` and `retention.requested` delete old runs in committed batches."""

from __future__ import annotations

from datetime import datetime

from headwater.common.contracts.watcher import LogCleanupCounts
from headwater.common.logging import get_logger
from headwater.common.metrics import RETENTION_DELETED as DELETED
from headwater.common.retention import Retention
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def delete_old_runs(uow: UnitOfWork, *, cutoff: datetime, batch_size: int) -> LogCleanupCounts:
    """Delete runs older than `cutoff` in batches of `batch_size`, each batch committed on its own (a cleanup
    stopped half-way keeps what it did), closure rows and run datasets before the runs they point at."""
    counts = LogCleanupCounts()
    while True:
        async with uow:
            batch = await uow.executions.delete_old(cutoff, batch_size)
            await uow.commit()
        counts.total_pipeline_executions_deleted += batch.executions
        counts.total_pipeline_execution_closure_parent_deleted += batch.closure_parent
        counts.total_pipeline_execution_closure_child_deleted += batch.closure_child
        DELETED.labels("pipeline_execution").inc(batch.executions)
        DELETED.labels("pipeline_execution_closure").inc(batch.closure_parent + batch.closure_child)
        if batch.executions < batch_size:
            break
    log.info(
        "retention_done",
        cutoff=cutoff.isoformat(),
        **{k: getattr(counts, k) for k in counts.__struct_fields__},
    )
    return counts


RETENTION = Retention(delete_old_runs)
"""`POST /log_cleanup` (`RETENTION.clean_up_logs`) and `retention.requested` (`RETENTION.apply_requests`)."""
