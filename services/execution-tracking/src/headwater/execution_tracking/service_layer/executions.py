"""Use cases for executions: start, end (with the watermark handshake), read the hierarchy; and the steps of a
start and an end that run reports and OpenLineage events share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from headwater.common.errors import MissingReference, NotFound, UseCaseError
from headwater.common.events import Event, ExecutionEnded, ExecutionStarted
from headwater.common.records import project
from headwater.execution_tracking.domain.records import (
    EndPlan,
    ExecutionRecord,
    PipelineWithType,
    StartedExecution,
)
from headwater.execution_tracking.domain.rules import as_utc, duration_seconds, recorded_at, throughput
from headwater.execution_tracking.service_layer.pipelines import (
    checked_watermark,
    effective_slo,
    pipeline_changed,
)
from headwater.execution_tracking.service_layer.ports import RunWriter
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

COUNTS = ("total_rows", "inserts", "updates", "soft_deletes")
# Which count, when above zero in a successful end, stamps which `last_target_*` of the pipeline.
STAMPED_BY = (
    ("inserts", "last_target_insert"),
    ("updates", "last_target_update"),
    ("soft_deletes", "last_target_soft_delete"),
)


class EndBeforeStart(UseCaseError):
    status = 400

    @classmethod
    def of(cls, start: datetime, end: datetime) -> EndBeforeStart:
        relation = "is before" if end < start else "is the same instant as"
        return cls(
            f"end_date must be greater than start_date ({end.isoformat()} {relation} {start.isoformat()})"
        )


def start_values(
    *,
    pipeline_id: int,
    start_date: datetime | None,
    watermark: str | int | None,
    next_watermark: str | int | None,
    parent_id: int | None,
    run_id: str | None,
) -> dict[str, Any]:
    """The columns of a started execution: start defaults to now, hour and date recorded in UTC."""
    start = as_utc(start_date) if start_date is not None else datetime.now(UTC)
    hour, day = recorded_at(start)
    return {
        "pipeline_id": pipeline_id,
        "parent_id": parent_id,
        "run_id": run_id,
        "start_date": start,
        "watermark": checked_watermark("watermark", watermark),
        "next_watermark": checked_watermark("next_watermark", next_watermark),
        "hour_recorded": hour,
        "date_recorded": day,
    }


async def start_execution(
    runs: RunWriter,
    *,
    pipeline_id: int,
    start_date: datetime | None = None,
    watermark: str | int | None = None,
    next_watermark: str | int | None = None,
    parent_id: int | None = None,
) -> int:
    """Record a started execution and its place in the hierarchy; returns its id."""
    values = start_values(
        pipeline_id=pipeline_id,
        start_date=start_date,
        watermark=watermark,
        next_watermark=next_watermark,
        parent_id=parent_id,
        run_id=None,
    )
    execution_id, pipeline_name = await runs.reserve(pipeline_id)
    if pipeline_name is None:
        raise NotFound(f"pipeline {pipeline_id} not found")
    started = StartedExecution(id=execution_id, **values)
    if not await runs.insert_started(started, [started_event(started, pipeline_name)]):
        raise NotFound(f"parent execution {parent_id} not found")
    return execution_id


def started_event(execution: StartedExecution, pipeline_name: str) -> ExecutionStarted:
    return project(ExecutionStarted, execution, execution_id=execution.id, pipeline_name=pipeline_name)


async def record_start(
    uow: UnitOfWork, pipeline_name: str, values: Mapping[str, Any]
) -> StartedExecution | None:
    """Inside the caller's open `uow`: start an execution (columns from `start_values`), publish
    `execution.started` and return it; None (nothing done) when a concurrent writer stored the same run id
    first. `NotFound` when the parent execution does not exist."""
    try:
        stored = await uow.executions.start_many([values])
    except MissingReference as exc:
        raise NotFound(f"parent execution {values['parent_id']} not found") from exc
    for execution in stored:
        uow.publish(started_event(execution, pipeline_name))
    return stored[0] if stored else None


async def end_execution(
    runs: RunWriter,
    *,
    execution_id: int,
    end_date: datetime,
    completed_successfully: bool,
    total_rows: int | None = None,
    inserts: int | None = None,
    updates: int | None = None,
    soft_deletes: int | None = None,
    execution_metadata: dict[str, Any] | None = None,
) -> None:
    """End an execution: metrics, and on success the watermark handshake, in one transaction. The Watcher's
    end must be strictly after its start (a run report or OpenLineage event may record an instant run)."""
    counts = {"total_rows": total_rows, "inserts": inserts, "updates": updates, "soft_deletes": soft_deletes}
    end = End(end_date, completed_successfully, counts, execution_metadata)
    async with runs.ending() as ending:
        locked = await ending.lock(execution_id, with_pipeline=completed_successfully)
        if locked is None:
            raise NotFound(f"pipeline execution {execution_id} not found")
        current, pipeline = locked
        if as_utc(end_date) == current.start_date:
            raise EndBeforeStart.of(current.start_date, as_utc(end_date))
        plan = plan_end(current, pipeline, end)
        await ending.write(current, plan, end_events(plan, pipeline))


@dataclass(frozen=True, slots=True)
class End:
    """What an end says: when, whether the execution succeeded, its counts (`COUNTS`, each may be None) and
    its metadata."""

    end_date: datetime
    completed_successfully: bool
    counts: Mapping[str, int | None]
    execution_metadata: dict[str, Any] | None


def end_events(plan: EndPlan, pipeline: PipelineWithType) -> list[Event]:
    """`execution.ended`, and after a success the `pipeline.changed` of the pipeline as the end leaves it."""
    if plan.stamps is None:
        return [plan.event]
    return [plan.event, pipeline_changed(after_success(pipeline, plan.stamps))]


def plan_end(current: StartedExecution, pipeline: PipelineWithType, ending: End) -> EndPlan:
    """What an end changes, as the Watcher does it: `duration_seconds` is end - start in whole seconds,
    `throughput` total_rows / duration to 4 decimals (0 for a zero duration, null without total_rows); only a
    successful end stamps `last_target_insert/update/soft_delete` (for the counts above 0) and hands the pipeline's
    `next_watermark` over to `watermark` — a failed one leaves the pipeline alone, so the next run retries the
    same watermark range."""
    end = as_utc(ending.end_date)
    completed_successfully, counts = ending.completed_successfully, ending.counts
    start = current.start_date
    if end < start:
        raise EndBeforeStart.of(start, end)
    duration = duration_seconds(start, end)
    total_rows = counts.get("total_rows")
    rate = throughput(total_rows, duration)
    stamps = None
    if completed_successfully:
        stamps = {column: end for count, column in STAMPED_BY if (counts.get(count) or 0) > 0}
    values = {
        "end_date": end,
        "completed_successfully": completed_successfully,
        "duration_seconds": duration,
        "throughput": rate,
        "execution_metadata": ending.execution_metadata,
        **{count: counts.get(count) for count in COUNTS},
    }
    event = ExecutionEnded(
        execution_id=current.id,
        pipeline_id=current.pipeline_id,
        pipeline_name=pipeline.name,
        pipeline_type_id=pipeline.pipeline_type_id,
        parent_id=current.parent_id,
        run_id=current.run_id,
        start_date=start,
        end_date=end,
        hour_recorded=current.hour_recorded,
        date_recorded=current.date_recorded,
        completed_successfully=completed_successfully,
        duration_seconds=duration,
        throughput=rate,
        total_rows=total_rows,
        inserts=counts.get("inserts"),
        updates=counts.get("updates"),
        soft_deletes=counts.get("soft_deletes"),
        watermark=current.watermark,
        next_watermark=current.next_watermark,
        slo=effective_slo(pipeline),
    )
    return EndPlan(values, stamps, event)


def after_success(pipeline: PipelineWithType, stamps: Mapping[str, datetime]) -> PipelineWithType:
    """The pipeline as a successful end leaves it: watermark moved to next_watermark, lineage loaded."""
    return msgspec.structs.replace(pipeline, watermark=pipeline.next_watermark, load_lineage=False, **stamps)


async def record_end(
    uow: UnitOfWork, current: StartedExecution, end: End, *, pipeline: PipelineWithType | None = None
) -> None:
    """Inside the caller's open `uow`: end an execution (again, for a re-end), with the watermark handshake on
    success, and publish its events. `pipeline` (with its type's settings) is read when not given."""
    if pipeline is None:
        (pipeline,) = await uow.pipelines.with_type([current.pipeline_id])
    plan = plan_end(current, pipeline, end)
    await uow.executions.update(current.id, plan.values)
    if plan.stamps is not None:
        await uow.pipelines.record_success(current.pipeline_id, plan.stamps)
    uow.publish(*end_events(plan, pipeline))


async def get_execution_tree(uow: UnitOfWork, execution_id: int) -> dict[str, Any]:
    """The execution with `child_executions` nested to any depth."""
    async with uow:
        rows = await uow.executions.tree(execution_id)
    if not rows:
        raise NotFound(f"pipeline execution {execution_id} not found")
    return nest(rows)


def nest(rows: Sequence[ExecutionRecord]) -> dict[str, Any]:
    """Executions of one subtree, shallowest first, into nested dicts (children in id order)."""
    nodes: dict[int, dict[str, Any]] = {}
    root: dict[str, Any] | None = None
    for row in rows:
        node = msgspec.structs.asdict(row)
        node["child_executions"] = []
        nodes[row.id] = node
        if root is None:
            root = node
        else:
            assert row.parent_id is not None  # a descendant of the root
            nodes[row.parent_id]["child_executions"].append(node)
    assert root is not None
    return root
