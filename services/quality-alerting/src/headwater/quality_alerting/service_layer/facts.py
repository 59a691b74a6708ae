"""Keeping quality-alerting's copies of execution-tracking's facts, and reacting to ended runs."""

from __future__ import annotations

from collections.abc import Sequence

from headwater.common.events import ExecutionEnded, ExecutionStarted, PipelineChanged
from headwater.quality_alerting.service_layer.anomalies import detect_anomalies
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

CONSUMER = "quality-alerting.execution-facts"

Fact = PipelineChanged | ExecutionStarted | ExecutionEnded


async def apply_facts(uow: UnitOfWork, facts: Sequence[Fact]) -> int:
    """Apply a batch of pipeline and execution events in one transaction and run anomaly detection on the
    successful runs that ended in it. Events already applied (a redelivered batch) are skipped through the
    inbox, so detection runs once per end. Returns the number of anomalous executions."""
    async with uow:
        new = await uow.claim(CONSUMER, [str(f.event_id) for f in facts])
        fresh = [f for f in facts if str(f.event_id) in new]
        pipelines = [f for f in fresh if isinstance(f, PipelineChanged)]
        starts = [f for f in fresh if isinstance(f, ExecutionStarted)]
        ends = [f for f in fresh if isinstance(f, ExecutionEnded)]
        await uow.copies.upsert_pipelines(pipelines)
        await uow.copies.record_started(starts)
        await uow.copies.record_ended(ends)
        succeeded = [e for e in ends if e.completed_successfully]
        anomalous = await detect_anomalies(
            uow,
            [e.execution_id for e in succeeded],
            {e.pipeline_id: (e.pipeline_name, e.pipeline_type_id) for e in succeeded},
        )
        await uow.commit()
    return anomalous
