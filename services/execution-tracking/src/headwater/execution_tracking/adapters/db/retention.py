"""Deleting old runs in batches, children before parents: closure rows, run datasets, then executions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Runs that ended before the cutoff, or never ended and started before it; both found through the end_date index
# (NULLs included). Locked and skipped if busy, so a cleanup never waits on a run being written.
OLD_RUNS = text(
    """
    SELECT id FROM pipeline_execution
    WHERE end_date < :cutoff OR (end_date IS NULL AND start_date < :cutoff)
    ORDER BY id LIMIT :batch_size FOR UPDATE SKIP LOCKED
    """
)


@dataclass
class BatchCounts:
    executions: int = 0
    closure_parent: int = 0
    closure_child: int = 0


async def delete_batch(conn: AsyncConnection, cutoff: datetime, batch_size: int) -> BatchCounts:
    """Delete up to `batch_size` old runs and everything that points at them, in the caller's transaction."""
    ids = list((await conn.execute(OLD_RUNS, {"cutoff": cutoff, "batch_size": batch_size})).scalars())
    if not ids:
        return BatchCounts()
    params = {"ids": ids}
    parent = await conn.execute(
        text(
            "DELETE FROM pipeline_execution_closure WHERE parent_execution_id = ANY(CAST(:ids AS bigint[]))"
        ),
        params,
    )
    child = await conn.execute(
        text("DELETE FROM pipeline_execution_closure WHERE child_execution_id = ANY(CAST(:ids AS bigint[]))"),
        params,
    )
    await conn.execute(
        text("DELETE FROM run_dataset WHERE execution_id = ANY(CAST(:ids AS bigint[]))"), params
    )
    runs = await conn.execute(
        text("DELETE FROM pipeline_execution WHERE id = ANY(CAST(:ids AS bigint[]))"), params
    )
    return BatchCounts(executions=runs.rowcount, closure_parent=parent.rowcount, closure_child=child.rowcount)
