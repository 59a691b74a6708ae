"""Use cases for executions: start, end (with the watermark handshake), read the hierarchy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from headwater.common.events import ExecutionEnded, ExecutionStarted
from headwater.execution_tracking.adapters.db.repositories import is_foreign_key_violation
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


async def start_execution(
    uow: UnitOfWork,
    *,
    pipeline_id: int,
    start_date: datetime | None = None,
    watermark: str | int | None = None,
    next_watermark: str | int | None = None,
    parent_id: int | None = None,
    run_id: str | None = None,
) -> int:
    """Record a started execution and its place in the hierarchy; returns its id."""
    async with uow:
        execution_id = await _start(
            uow,
            pipeline_id=pipeline_id,
            start_date=start_date,
            watermark=watermark,
            next_watermark=next_watermark,
            parent_id=parent_id,
            run_id=run_id,
        )
        await uow.commit()
        return execution_id


async def _start(
    uow: UnitOfWork,
    *,
    pipeline_id: int,
    start_date: datetime | None,
    watermark: str | int | None,
    next_watermark: str | int | None,
    parent_id: int | None,
    run_id: str | None,
) -> int:
    start = as_utc(start_date) if start_date is not None else datetime.now(UTC)
    hour, day = recorded_at(start)
    values = {
        "watermark": _checked_watermark("watermark", watermark),
        "next_watermark": _checked_watermark("next_watermark", next_watermark),
    }
    try:
        started = await uow.executions.start(
            pipeline_id=pipeline_id,
            parent_id=parent_id,
            run_id=run_id,
            start_date=start,
            hour_recorded=hour,
            date_recorded=day,
            **values,
        )
    except IntegrityError as exc:
        if is_foreign_key_violation(exc):
            raise NotFound(f"parent execution {parent_id} not found") from exc
        raise
    if started is None:
        raise NotFound(f"pipeline {pipeline_id} not found")
    execution_id, pipeline_name = started
    uow.publish(
        ExecutionStarted(
            execution_id=execution_id,
            pipeline_id=pipeline_id,
            pipeline_name=pipeline_name,
            parent_id=parent_id,
            run_id=run_id,
            start_date=start,
            hour_recorded=hour,
            date_recorded=day,
            **values,
        )
    )
    return execution_id


async def end_execution(
    uow: UnitOfWork,
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
    async with uow:
        current = await uow.executions.for_end(execution_id=execution_id)
        if current is None:
            raise NotFound(f"pipeline execution {execution_id} not found")
        await _end(
            uow,
            current,
            end_date=end_date,
            completed_successfully=completed_successfully,
            counts={
                "total_rows": total_rows,
                "inserts": inserts,
                "updates": updates,
                "soft_deletes": soft_deletes,
            },
            execution_metadata=execution_metadata,
        )
        await uow.commit()


async def _end(
    uow: UnitOfWork,
    current: Mapping[str, Any],
    *,
    end_date: datetime,
    completed_successfully: bool,
    counts: Mapping[str, int | None],
    execution_metadata: dict[str, Any] | None,
) -> None:
    end = as_utc(end_date)
    start: datetime = current["start_date"]
    if end < start:
        raise EndBeforeStart(
            f"end_date must be greater than start_date ({end.isoformat()} is before {start.isoformat()})"
        )
    duration = duration_seconds(start, end)
    rate = throughput(counts.get("total_rows"), duration)
    await uow.executions.end(
        current["id"],
        {
            "end_date": end,
            "completed_successfully": completed_successfully,
            "duration_seconds": duration,
            "throughput": rate,
            "execution_metadata": execution_metadata,
            **counts,
        },
    )
    pipeline_id = current["pipeline_id"]
    if completed_successfully:
        await uow.pipelines.record_success(pipeline_id, end, counts)
    (row,) = await uow.pipelines.with_type([pipeline_id])
    uow.publish(
        ExecutionEnded(
            execution_id=current["id"],
            pipeline_id=pipeline_id,
            pipeline_name=row["name"],
            pipeline_type_id=row["pipeline_type_id"],
            parent_id=current["parent_id"],
            run_id=current["run_id"],
            start_date=start,
            end_date=end,
            hour_recorded=current["hour_recorded"],
            date_recorded=current["date_recorded"],
            completed_successfully=completed_successfully,
            duration_seconds=duration,
            throughput=rate,
            watermark=current["watermark"],
            next_watermark=current["next_watermark"],
            slo=effective_slo(row),
            **counts,
        )
    )
    if completed_successfully:
        uow.publish(pipeline_changed(row))


async def get_execution_tree(uow: UnitOfWork, execution_id: int) -> dict[str, Any]:
    """The execution with `child_executions` nested to any depth."""
    async with uow:
        rows = await uow.executions.tree(execution_id)
    if not rows:
        raise NotFound(f"pipeline execution {execution_id} not found")
    return nest(rows)


def nest(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
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
