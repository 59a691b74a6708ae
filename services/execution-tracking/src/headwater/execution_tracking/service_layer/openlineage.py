"""Use case for OpenLineage RunEvents (HTTP `POST /api/v1/lineage` and the `ingress.lineage` topic).

A job is a tracked pipeline named `namespace/name`; a run is an execution whose `run_id` is the run's UUID;
input and output datasets are addresses named `namespace/name`, and the pipeline's lineage edges are its
latest run's inputs x outputs. Every event is merged into what is stored so that the same set of events gives
the same result in any order and any number of times:

- the start is the earliest event time seen for the run (a child's events count for a parent they name);
- the end is the latest terminal event (COMPLETE, FAIL, ABORT); at equal times a failure wins;
- `total_rows` is the largest sum of the outputs' `outputStatistics.rowCount` any event carried;
- a run's datasets accumulate over its events; the pipeline's edges follow its latest run (by start, then run
  id) that declared both inputs and outputs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from headwater.common.contracts.openlineage import TERMINAL, EventType, RunEvent
from headwater.common.db.errors import is_transient
from headwater.common.logging import get_logger
from headwater.execution_tracking.adapters.db.repositories import Row, is_unique_violation
from headwater.execution_tracking.domain.errors import RuleViolation
from headwater.execution_tracking.domain.openlineage import dataset_address, job_pipeline_name, job_type_name
from headwater.execution_tracking.domain.rules import as_utc, duration_seconds, recorded_at, throughput
from headwater.execution_tracking.service_layer.addresses import replace_edges, store_addresses
from headwater.execution_tracking.service_layer.errors import Invalid, UseCaseError
from headwater.execution_tracking.service_layer.executions import _end, start_values, started_event
from headwater.execution_tracking.service_layer.pipelines import _publish_pipeline_changes
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

DEFAULT_TYPE = "openlineage"
ATTEMPTS = 5


@dataclass(frozen=True)
class Rejected:
    """An event that cannot be recorded, and why; it goes to the dead-letter topic."""

    index: int
    reason: str


async def record_run_event(uow_factory: UnitOfWorkFactory, event: RunEvent) -> None:
    """Record one event in its own transaction (the HTTP path); a use-case error is the client's."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with uow_factory() as uow:
                await _record(uow, event)
                await uow.commit()
                return
        except Exception as exc:
            # two writers merging into the same run or pipeline at once: one of them retries
            if attempt == ATTEMPTS or not (_is_conflict(exc) or is_transient(exc)):
                raise
            await asyncio.sleep(0.01 * 2**attempt)


async def record_run_events(uow_factory: UnitOfWorkFactory, events: Sequence[RunEvent]) -> list[Rejected]:
    """Record a batch (the Kafka path) in one transaction, each event in a savepoint; returns the rejected.

    A transient database error propagates so the caller retries the batch; merging makes the replay harmless.
    """
    rejected: list[Rejected] = []
    async with uow_factory() as uow:
        for index, event in enumerate(events):
            try:
                async with uow.savepoint():
                    await _record(uow, event)
            except UseCaseError as exc:
                rejected.append(Rejected(index, exc.detail))
            except Exception as exc:
                if is_transient(exc) or _is_conflict(exc):
                    raise
                log.exception("openlineage_event_failed", run_id=str(event.run.runId))
                rejected.append(Rejected(index, f"could not be recorded: {exc!r}"[:2000]))
        await uow.commit()
    return rejected


def _is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError) and is_unique_violation(exc)


async def _record(uow: UnitOfWork, event: RunEvent) -> None:
    try:
        await _merge(uow, event)
    except RuleViolation as exc:
        raise Invalid(str(exc)) from exc


async def _merge(uow: UnitOfWork, event: RunEvent) -> None:
    at = as_utc(event.eventTime)
    parent_id = None
    parent = event.run.facets.parent if event.run.facets else None
    if parent is not None and parent.run.runId != event.run.runId:
        parent_pipeline = await _pipeline(uow, parent.job.namespace, parent.job.name, None)
        parent_run = await _run(uow, parent_pipeline, str(parent.run.runId), at, parent_id=None)
        parent_id = parent_run["id"]
    integration = (
        event.job.facets.jobType.integration if event.job.facets and event.job.facets.jobType else None
    )
    pipeline = await _pipeline(uow, event.job.namespace, event.job.name, integration)
    run = await _run(uow, pipeline, str(event.run.runId), at, parent_id=parent_id)
    start_moved = run["start_moved"]
    rows = _row_count(event)
    if event.eventType in TERMINAL:
        await _maybe_end(uow, run, at, success=event.eventType is EventType.COMPLETE, rows=rows, event=event)
    elif rows is not None and (run["total_rows"] is None or rows > run["total_rows"]):
        await _more_rows(uow, run, rows)
    new_datasets = await _datasets(uow, run["id"], event)
    if new_datasets or start_moved:
        await _refresh_edges(uow, pipeline)


def _row_count(event: RunEvent) -> int | None:
    counts = [
        o.outputFacets.outputStatistics.rowCount
        for o in event.outputs
        if o.outputFacets
        and o.outputFacets.outputStatistics
        and o.outputFacets.outputStatistics.rowCount is not None
    ]
    return sum(counts) if counts else None


async def _pipeline(uow: UnitOfWork, namespace: str, name: str, integration: str | None) -> Row:
    """The job's pipeline, locked; created (with its type) on first sight."""
    full_name = job_pipeline_name(namespace, name)
    type_name = job_type_name(integration) if integration else None
    current = await uow.pipelines.find_for_update(name=full_name)
    if current is None:
        type_id = await uow.pipeline_types.get_or_create(type_name or DEFAULT_TYPE)
        created = await uow.pipelines.insert_if_absent(
            {
                "name": full_name,
                "pipeline_type_id": type_id,
                "pipeline_metadata": {"openlineage": {"namespace": namespace, "name": name}},
            }
        )
        if created is not None:
            await _publish_pipeline_changes(uow, [created])
        current = await uow.pipelines.find_for_update(name=full_name)
        assert current is not None
    elif type_name is not None:
        # a pipeline first seen as someone's parent got the default type; its own event names the real one
        default_type = await uow.pipeline_types.id_by_name(DEFAULT_TYPE)
        if current["pipeline_type_id"] == default_type:
            type_id = await uow.pipeline_types.get_or_create(type_name)
            current = await uow.pipelines.update(current["id"], {"pipeline_type_id": type_id})
            await _publish_pipeline_changes(uow, [current["id"]])
    return current


async def _run(
    uow: UnitOfWork, pipeline: Row, run_id: str, at: datetime, *, parent_id: int | None
) -> dict[str, Any]:
    """The run's execution, locked: created at `at`, or its start moved back to `at` when earlier."""
    current = await uow.executions.run_state(run_id)
    if current is None:
        values = start_values(
            pipeline_id=pipeline["id"],
            start_date=at,
            watermark=None,
            next_watermark=None,
            parent_id=parent_id,
            run_id=run_id,
        )
        for row in await uow.batches.start_many([values]):
            uow.publish(started_event(row, pipeline["name"]))
        current = await uow.executions.run_state(run_id)
        assert current is not None
        return {**current, "start_moved": False}
    run = {**current, "start_moved": False}
    if at < current["start_date"]:
        run.update(await _move_start(uow, current, pipeline, at))
    orphan = parent_id is not None and current["parent_id"] is None and parent_id != current["id"]
    if orphan and await uow.executions.attach(current["id"], parent_id):  # type: ignore[arg-type]
        run["parent_id"] = parent_id
    return run


async def _move_start(uow: UnitOfWork, current: Row, pipeline: Row, at: datetime) -> dict[str, Any]:
    hour, day = recorded_at(at)
    values: dict[str, Any] = {"start_date": at, "hour_recorded": hour, "date_recorded": day}
    if current["end_date"] is not None:
        values["duration_seconds"] = duration_seconds(at, current["end_date"])
        values["throughput"] = throughput(current["total_rows"], values["duration_seconds"])
    await uow.executions.update(current["id"], values)
    moved = {**current, **values, "start_moved": True}
    uow.publish(started_event(moved, pipeline["name"]))
    if current["end_date"] is not None:
        await _end(
            uow,
            moved,
            end_date=current["end_date"],
            completed_successfully=current["completed_successfully"],
            counts=_counts(current["total_rows"]),
            execution_metadata=current["execution_metadata"],
        )
    return moved


def _counts(total_rows: int | None) -> dict[str, int | None]:
    return {"total_rows": total_rows, "inserts": None, "updates": None, "soft_deletes": None}


async def _maybe_end(
    uow: UnitOfWork, run: dict[str, Any], at: datetime, *, success: bool, rows: int | None, event: RunEvent
) -> None:
    """End the run with this terminal event unless a later one (or a failure at the same time) ended it."""
    total = max((r for r in (rows, run["total_rows"]) if r is not None), default=None)
    ended = run["end_date"] is not None
    if ended and (at, not success) <= (run["end_date"], not run["completed_successfully"]):
        if total != run["total_rows"]:
            await _more_rows(uow, run, total)  # type: ignore[arg-type]
        return
    if at < run["start_date"]:
        raise Invalid(f"end {at.isoformat()} is before the run's start {run['start_date'].isoformat()}")
    await _end(
        uow,
        run,
        end_date=at,
        completed_successfully=success,
        counts=_counts(total),
        execution_metadata={
            "openlineage": {"event_type": event.eventType.value, "producer": event.producer or None}
        },
    )


async def _more_rows(uow: UnitOfWork, run: dict[str, Any], rows: int) -> None:
    """A larger row count than stored: keep it (and the end's throughput) without touching anything else."""
    if run["end_date"] is None:
        await uow.executions.update(run["id"], {"total_rows": rows})
        return
    await _end(
        uow,
        run,
        end_date=run["end_date"],
        completed_successfully=run["completed_successfully"],
        counts=_counts(rows),
        execution_metadata=run["execution_metadata"],
    )


async def _datasets(uow: UnitOfWork, execution_id: int, event: RunEvent) -> int:
    if not event.inputs and not event.outputs:
        return 0
    inputs = [dataset_address(d.namespace, d.name) for d in event.inputs]
    outputs = [dataset_address(d.namespace, d.name) for d in event.outputs]
    stored = await store_addresses(uow, [*inputs, *outputs])
    return await uow.run_datasets.add(
        execution_id, [stored[a["name"]].id for a in inputs], [stored[a["name"]].id for a in outputs]
    )


async def _refresh_edges(uow: UnitOfWork, pipeline: Row) -> None:
    latest = await uow.run_datasets.latest_complete_run(pipeline["id"])
    if latest is None:
        return
    inputs, outputs = latest
    await replace_edges(uow, pipeline, [(s, t) for s in inputs for t in outputs], origin="openlineage")
