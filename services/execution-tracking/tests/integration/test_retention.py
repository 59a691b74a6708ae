"""Retention on the real Postgres: old runs go in committed batches, closure rows and run datasets first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from headwater.common.errors import NotFound
from headwater.common.events import RetentionRequested
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.service_layer import executions, pipelines
from headwater.execution_tracking.service_layer.retention import RETENTION, delete_old_runs

pytestmark = pytest.mark.integration

# Far enough in the past that no other test's runs are older.
OLD = datetime(1990, 6, 1, 10, 0, tzinfo=UTC)
CUTOFF = datetime(1991, 1, 1, tzinfo=UTC)


async def test_old_runs_and_their_closure_rows_are_deleted_in_batches(container: Container) -> None:
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": f"retention {uuid.uuid4().hex[:8]}", "pipeline_type_name": "t"}
    )
    parent = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=OLD)
    child = await executions.start_execution(
        container.runs, pipeline_id=p.id, start_date=OLD, parent_id=parent
    )
    unfinished = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=OLD)
    for run in (parent, child):
        await executions.end_execution(
            container.runs, execution_id=run, end_date=OLD + timedelta(minutes=5), completed_successfully=True
        )
    kept = await executions.start_execution(
        container.runs, pipeline_id=p.id, start_date=CUTOFF + timedelta(days=1)
    )

    counts = await delete_old_runs(container.uow_factory(), cutoff=CUTOFF, batch_size=2)
    assert counts.total_pipeline_executions_deleted == 3
    # closure rows (parent, parent), (parent, child), (child, child), (unfinished, unfinished)
    assert (
        counts.total_pipeline_execution_closure_parent_deleted
        + counts.total_pipeline_execution_closure_child_deleted
        == 4
    )
    for gone in (parent, child, unfinished):
        with pytest.raises(NotFound):
            await executions.get_execution_tree(container.uow_factory(), gone)
    assert (await executions.get_execution_tree(container.uow_factory(), kept))["id"] == kept
    async with container.engine.connect() as conn:
        orphans = await conn.scalar(
            text(
                "SELECT count(*) FROM pipeline_execution_closure "
                "WHERE parent_execution_id = ANY(:ids) OR child_execution_id = ANY(:ids)"
            ),
            {"ids": [parent, child, unfinished]},
        )
    assert orphans == 0

    # The scheduled request with the same cutoff (or a redelivery of it) finds nothing more to delete.
    request = RetentionRequested(retention_days=90, cutoff=CUTOFF, batch_size=2)
    assert await RETENTION.apply_requests(container.uow_factory(), [request, request]) == []
    assert (
        await delete_old_runs(container.uow_factory(), cutoff=CUTOFF, batch_size=2)
    ).total_pipeline_executions_deleted == 0
