"""Use cases for executions: start, end (with the watermark handshake), read the hierarchy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from headwater.common.events import Event, ExecutionEnded, ExecutionStarted
from headwater.execution_tracking.adapters.db.repositories import Row, is_foreign_key_violation
from headwater.execution_tracking.adapters.db.run_writer import RunWriter
from headwater.execution_tracking.domain.rules import (
    as_utc,
    duration_seconds,
    recorded_at,
    throughput,
    watermark_text,
)
from headwater.execution_tracking.service_layer.errors import Invalid, NotFound, UseCaseError
from headwater.execution_tracking.service_layer.pipelines import effective_slo, pipeline_changed
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

COUNTS = ("total_rows", "inserts", "updates", "soft_deletes")


class EndBeforeStart(UseCaseError):
    status = 400


def _checked_watermark(name: str, value: str | int | None) -> str | None:
    text = watermark_text(value)
    if text is not None and len(text) > 50:
        raise Invalid(f"`{name}` must be at most 50 characters")
    return text


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
        "watermark": _checked_watermark("watermark", watermark),
        "next_watermark": _checked_watermark("next_watermark", next_watermark),
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
    values["id"], pipeline_name = await runs.reserve(pipeline_id)
    if pipeline_name is None:
        raise NotFound(f"pipeline {pipeline_id} not found")
    if not await runs.insert_started(values, [started_event(values, pipeline_name)]):
        raise NotFound(f"parent execution {parent_id} not found")
    return values["id"]


def started_event(values: Row, pipeline_name: str) -> ExecutionStarted:
    return ExecutionStarted(
        execution_id=values["id"],
        pipeline_id=values["pipeline_id"],
        pipeline_name=pipeline_name,
        parent_id=values["parent_id"],
        run_id=values["run_id"],
        start_date=values["start_date"],
        hour_recorded=values["hour_recorded"],
        date_recorded=values["date_recorded"],
        watermark=values["watermark"],
        next_watermark=values["next_watermark"],
    )


async def _start(uow: UnitOfWork, pipeline_name: str, values: Row) -> None:
    """Start an execution inside `uow` (the one-by-one path of run reports)."""
    try:
        stored = await uow.batches.start_many([values])
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise NotFound(f"parent execution {values['parent_id']} not found") from exc
        raise
    for row in stored:  # nothing when a concurrent consumer stored the same run first
        uow.publish(started_event(row, pipeline_name))


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
    """End an execution: metrics, and on success the watermark handshake, in one transaction."""
    counts = {"total_rows": total_rows, "inserts": inserts, "updates": updates, "soft_deletes": soft_deletes}
    async with runs.ending() as ending:
        locked = await ending.lock(execution_id, with_pipeline=completed_successfully)
        if locked is None:
            raise NotFound(f"pipeline execution {execution_id} not found")
        current, pipeline = locked
        plan = plan_end(
            current,
            pipeline,
            end_date=end_date,
            completed_successfully=completed_successfully,
            counts=counts,
            execution_metadata=execution_metadata,
        )
        events: list[Event] = [plan.event]
        if plan.stamps is not None:
            events.append(pipeline_changed(after_success(pipeline, plan.stamps)))
        await ending.write(
            execution_id,
            plan.values,
            pipeline_id=current["pipeline_id"],
            success_stamps=plan.stamps,
            events=events,
        )


@dataclass(frozen=True)
class EndPlan:
    """What ending an execution writes: its columns, the pipeline's `last_target_*` stamps on success (None
    for a failure, which changes nothing on the pipeline) and the `execution.ended` event."""

    values: dict[str, Any]
    stamps: dict[str, datetime] | None
    event: ExecutionEnded


def plan_end(
    current: Row,
    pipeline: Row,
    *,
    end_date: datetime,
    completed_successfully: bool,
    counts: Mapping[str, int | None],
    execution_metadata: dict[str, Any] | None,
) -> EndPlan:
    """Duration, throughput and the watermark handshake of an end, as SEMANTICS.md states them.

    `current` is the execution, `pipeline` its pipeline with the type's settings as `type_*`.
    """
    end = as_utc(end_date)
    start: datetime = current["start_date"]
    if end < start:
        raise EndBeforeStart(
            f"end_date must be greater than start_date ({end.isoformat()} is before {start.isoformat()})"
        )
    duration = duration_seconds(start, end)
    rate = throughput(counts.get("total_rows"), duration)
    stamps = None
    if completed_successfully:
        stamps = {
            column: end
            for count, column in (
                ("inserts", "last_target_insert"),
                ("updates", "last_target_update"),
                ("soft_deletes", "last_target_soft_delete"),
            )
            if (counts.get(count) or 0) > 0
        }
    values = {
        "end_date": end,
        "completed_successfully": completed_successfully,
        "duration_seconds": duration,
        "throughput": rate,
        "execution_metadata": execution_metadata,
        "total_rows": counts.get("total_rows"),
        "inserts": counts.get("inserts"),
        "updates": counts.get("updates"),
        "soft_deletes": counts.get("soft_deletes"),
    }
    event = ExecutionEnded(
        execution_id=current["id"],
        pipeline_id=current["pipeline_id"],
        pipeline_name=pipeline["name"],
        pipeline_type_id=pipeline["pipeline_type_id"],
        parent_id=current["parent_id"],
        run_id=current["run_id"],
        start_date=start,
        end_date=end,
        hour_recorded=current["hour_recorded"],
        date_recorded=current["date_recorded"],
        completed_successfully=completed_successfully,
        duration_seconds=duration,
        throughput=rate,
        total_rows=values["total_rows"],
        inserts=values["inserts"],
        updates=values["updates"],
        soft_deletes=values["soft_deletes"],
        watermark=current["watermark"],
        next_watermark=current["next_watermark"],
        slo=effective_slo(pipeline),
    )
    return EndPlan(values, stamps, event)


def after_success(pipeline: Row, stamps: Mapping[str, datetime]) -> dict[str, Any]:
    """The pipeline as a successful end leaves it: watermark moved to next_watermark, lineage loaded."""
    return {**pipeline, "watermark": pipeline["next_watermark"], "load_lineage": False, **stamps}


async def _end(
    uow: UnitOfWork,
    current: Row,
    *,
    end_date: datetime,
    completed_successfully: bool,
    counts: Mapping[str, int | None],
    execution_metadata: dict[str, Any] | None,
    pipeline: Row | None = None,
) -> None:
    """End an execution inside `uow` (the one-by-one path of run reports); `pipeline` (with its type's
    settings) is read when not given."""
    if pipeline is None:
        (pipeline,) = await uow.pipelines.with_type([current["pipeline_id"]])
    plan = plan_end(
        current,
        pipeline,
        end_date=end_date,
        completed_successfully=completed_successfully,
        counts=counts,
        execution_metadata=execution_metadata,
    )
    await uow.executions.end(current["id"], plan.values)
    uow.publish(plan.event)
    if plan.stamps is not None:
        await uow.pipelines.record_success(current["pipeline_id"], plan.stamps)
        uow.publish(pipeline_changed(after_success(pipeline, plan.stamps)))


async def get_execution_tree(uow: UnitOfWork, execution_id: int) -> dict[str, Any]:
    """The execution with `child_executions` nested to any depth."""
    async with uow:
        rows = await uow.executions.tree(execution_id)
    if not rows:
        raise NotFound(f"pipeline execution {execution_id} not found")
    return nest(rows)


def nest(rows: Sequence[Row]) -> dict[str, Any]:
    """Rows of one subtree, shallowest first, into nested dicts (children in id order)."""
    nodes: dict[int, dict[str, Any]] = {}
    root: dict[str, Any] | None = None
    for row in rows:
        node = {str(k): v for k, v in row.items() if k != "depth"}
        node["child_executions"] = []
        nodes[node["id"]] = node
        if root is None:
            root = node
        else:
            nodes[node["parent_id"]]["child_executions"].append(node)
    assert root is not None
    return root
