"""Use case for OpenLineage RunEvents (HTTP `POST /api/v1/lineage` and the `ingress.lineage` topic).

A job is a tracked pipeline named `namespace/name`; a run is an execution whose `run_id` is the run's UUID;
input and output datasets are addresses named `namespace/name`, and the pipeline's lineage edges are its
latest run's inputs x outputs. Events are merged into what is stored so that the same set of events gives the
same result in any order and any number of times (see `RunFold` for the rules):

- the start is the earliest event time seen for the run (a child's events count for a parent they name);
- the end is the latest terminal event (COMPLETE, FAIL, ABORT); at equal times a failure wins;
- `total_rows` is the largest sum of the outputs' `outputStatistics.rowCount` any event carried;
- a run's datasets accumulate over its events; the pipeline's edges follow its latest run (by start, then run
  id) that declared both inputs and outputs.

A batch from Kafka is first folded per run (a START and a COMPLETE in one batch are one merge), then merged in
one transaction; only if something fails is it merged again fold by fold, each in a savepoint, so that one bad
run is rejected without holding back the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from headwater.common.contracts.openlineage import RunEvent
from headwater.common.db.errors import is_transient
from headwater.common.errors import Duplicate, Invalid, UseCaseError
from headwater.common.logging import get_logger
from headwater.common.retry import Backoff, retry
from headwater.execution_tracking.domain.errors import RuleViolation
from headwater.execution_tracking.domain.openlineage import (
    RunFold,
    Terminal,
    dataset_address,
    fold_by_run,
    job_pipeline_name,
    job_type_name,
)
from headwater.execution_tracking.domain.records import ExecutionRecord, PipelineWithType
from headwater.execution_tracking.domain.rules import duration_seconds, recorded_at, throughput
from headwater.execution_tracking.service_layer.addresses import replace_edges, store_addresses
from headwater.execution_tracking.service_layer.executions import (
    End,
    record_end,
    record_start,
    start_values,
    started_event,
)
from headwater.execution_tracking.service_layer.pipelines import pipeline_changed
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

DEFAULT_TYPE = "openlineage"
ATTEMPTS = 5
# Two writers merging into the same run or pipeline at once: the loser retries after 20, 40, 80, 160 ms.
CONFLICT_BACKOFF = Backoff(base=0.01, cap=1.0)


@dataclass(frozen=True)
class Rejected:
    """An event that cannot be recorded, and why; it goes to the dead-letter topic."""

    index: int
    reason: str


def _retryable(exc: BaseException) -> bool:
    """A conflict with a concurrent writer (it stored the same row first), or a database that is away."""
    return isinstance(exc, Duplicate) or is_transient(exc)


async def record_run_event(uow: UnitOfWork, event: RunEvent) -> None:
    """Record one event in its own transaction (the HTTP path); a use-case error is the client's."""
    fold = RunFold.of(event)

    async def attempt() -> None:
        async with uow:
            await _record(uow, fold)
            await uow.commit()

    await retry(
        attempt,
        attempts=ATTEMPTS,
        retry_if=_retryable,
        backoff=CONFLICT_BACKOFF,
        event="openlineage_event_retry",
        run_id=fold.run_id,
    )


async def record_run_events(uow: UnitOfWork, events: Sequence[RunEvent]) -> list[Rejected]:
    """Record a batch (the Kafka path) in one transaction; returns the rejected events.

    A transient database error propagates so the caller retries the batch; merging makes the replay harmless.
    """
    folds = fold_by_run(events)
    try:
        async with uow:
            for fold in folds:
                await _record(uow, fold)
            await uow.commit()
            return []
    except Exception as exc:
        if _retryable(exc):
            raise
        log.info("openlineage_batch_retried_run_by_run", size=len(events), error=repr(exc)[:500])
    rejected: list[Rejected] = []
    async with uow:
        for fold in folds:
            try:
                async with uow.savepoint():
                    await _record(uow, fold)
            except UseCaseError as exc:
                rejected.extend(Rejected(i, exc.detail) for i in fold.indexes)
            except Exception as exc:
                if _retryable(exc):
                    raise
                log.exception("openlineage_run_failed", run_id=fold.run_id)
                rejected.extend(Rejected(i, f"could not be recorded: {exc!r}"[:2000]) for i in fold.indexes)
        await uow.commit()
    return sorted(rejected, key=lambda r: r.index)


async def _record(uow: UnitOfWork, fold: RunFold) -> None:
    try:
        await _merge(uow, fold)
    except RuleViolation as exc:
        raise Invalid(str(exc)) from exc


async def _merge(uow: UnitOfWork, fold: RunFold) -> None:
    parent_id = None
    if fold.parent is not None:
        parent_run_id, parent_namespace, parent_name = fold.parent
        parent_pipeline = await _pipeline(uow, parent_namespace, parent_name, None)
        parent_run, _ = await _run(uow, parent_pipeline, parent_run_id, fold.first_at, parent_id=None)
        parent_id = parent_run.id
    pipeline = await _pipeline(uow, fold.namespace, fold.name, fold.integration)
    run, start_moved = await _run(uow, pipeline, fold.run_id, fold.first_at, parent_id=parent_id)
    if fold.terminal is not None:
        await _maybe_end(uow, run, pipeline, fold.terminal, rows=fold.rows)
    elif fold.rows is not None and (run.total_rows is None or fold.rows > run.total_rows):
        await _more_rows(uow, run, pipeline, fold.rows)
    new_datasets = await _datasets(uow, run.id, fold)
    if new_datasets or start_moved:
        await _refresh_edges(uow, pipeline)


async def _pipeline(uow: UnitOfWork, namespace: str, name: str, integration: str | None) -> PipelineWithType:
    """The job's pipeline with its type's settings, locked; created (with its type) on first sight."""
    full_name = job_pipeline_name(namespace, name)
    type_name = job_type_name(integration) if integration else None
    current = await uow.pipelines.lock_with_type(full_name)
    if current is None:
        type_id = await uow.pipeline_types.get_or_create(type_name or DEFAULT_TYPE)
        created = await uow.pipelines.insert_if_absent(
            {
                "name": full_name,
                "pipeline_type_id": type_id,
                "pipeline_metadata": {"openlineage": {"namespace": namespace, "name": name}},
            }
        )
        current = await uow.pipelines.lock_with_type(full_name)
        assert current is not None
        if created is not None:
            uow.publish(pipeline_changed(current))
    elif type_name is not None and current.type_name == DEFAULT_TYPE and type_name != DEFAULT_TYPE:
        # a pipeline first seen as someone's parent got the default type; its own event names the real one
        type_id = await uow.pipeline_types.get_or_create(type_name)
        await uow.pipelines.update(current.id, {"pipeline_type_id": type_id})
        current = await uow.pipelines.lock_with_type(full_name)
        assert current is not None
        uow.publish(pipeline_changed(current))
    return current


async def _run(
    uow: UnitOfWork, pipeline: PipelineWithType, run_id: str, at: datetime, *, parent_id: int | None
) -> tuple[ExecutionRecord, bool]:
    """The run's execution, locked: created at `at`, or its start moved back to `at` when earlier (then True)."""
    current = await uow.executions.run_state(run_id)
    if current is None:
        values = start_values(
            pipeline_id=pipeline.id,
            start_date=at,
            watermark=None,
            next_watermark=None,
            parent_id=parent_id,
            run_id=run_id,
        )
        stored = await record_start(uow, pipeline.name, values)
        if stored is not None:  # a new row is locked by its inserting transaction; it has no end yet
            return ExecutionRecord(**msgspec.structs.asdict(stored)), False
        current = await uow.executions.run_state(run_id)  # stored concurrently by another writer
        assert current is not None
    run, moved = current, False
    if at < current.start_date:
        run, moved = await _move_start(uow, current, pipeline, at), True
    orphan = parent_id is not None and current.parent_id is None and parent_id != current.id
    if orphan and await uow.executions.attach(current.id, parent_id):  # pyright: ignore[reportArgumentType]
        run = msgspec.structs.replace(run, parent_id=parent_id)
    return run, moved


async def _move_start(
    uow: UnitOfWork, current: ExecutionRecord, pipeline: PipelineWithType, at: datetime
) -> ExecutionRecord:
    hour, day = recorded_at(at)
    values: dict[str, Any] = {"start_date": at, "hour_recorded": hour, "date_recorded": day}
    if current.end_date is not None:
        values["duration_seconds"] = duration_seconds(at, current.end_date)
        values["throughput"] = throughput(current.total_rows, values["duration_seconds"])
    await uow.executions.update(current.id, values)
    moved = msgspec.structs.replace(current, **values)
    uow.publish(started_event(moved, pipeline.name))
    if current.end_date is not None:
        await _reend(uow, moved, pipeline, rows=current.total_rows)
    return moved


def _counts(total_rows: int | None) -> dict[str, int | None]:
    return {"total_rows": total_rows, "inserts": None, "updates": None, "soft_deletes": None}


async def _reend(
    uow: UnitOfWork, run: ExecutionRecord, pipeline: PipelineWithType, *, rows: int | None
) -> None:
    """End an ended run again as it ended (after its start or its row count changed)."""
    assert run.end_date is not None
    end = End(run.end_date, bool(run.completed_successfully), _counts(rows), run.execution_metadata)
    await record_end(uow, run, end, pipeline=pipeline)


async def _maybe_end(
    uow: UnitOfWork, run: ExecutionRecord, pipeline: PipelineWithType, terminal: Terminal, *, rows: int | None
) -> None:
    """End the run with this terminal event unless a later one (or a failure at the same time) ended it."""
    total = max((r for r in (rows, run.total_rows) if r is not None), default=None)
    if run.end_date is not None and terminal <= Terminal(
        run.end_date, not run.completed_successfully, "", ""
    ):
        if total is not None and total != run.total_rows:
            await _more_rows(uow, run, pipeline, total)
        return
    metadata = {"openlineage": {"event_type": terminal.event_type, "producer": terminal.producer or None}}
    await record_end(
        uow, run, End(terminal.at, not terminal.failed, _counts(total), metadata), pipeline=pipeline
    )


async def _more_rows(uow: UnitOfWork, run: ExecutionRecord, pipeline: PipelineWithType, rows: int) -> None:
    """A larger row count than stored: keep it (and the end's throughput) without touching anything else."""
    if run.end_date is None:
        await uow.executions.update(run.id, {"total_rows": rows})
        return
    await _reend(uow, run, pipeline, rows=rows)


async def _datasets(uow: UnitOfWork, execution_id: int, fold: RunFold) -> int:
    if not fold.inputs and not fold.outputs:
        return 0
    inputs = [dataset_address(ns, name) for ns, name in sorted(fold.inputs)]
    outputs = [dataset_address(ns, name) for ns, name in sorted(fold.outputs)]
    stored = await store_addresses(uow, [*inputs, *outputs])
    return await uow.run_datasets.add(
        execution_id, [stored[a["name"]].id for a in inputs], [stored[a["name"]].id for a in outputs]
    )


async def _refresh_edges(uow: UnitOfWork, pipeline: PipelineWithType) -> None:
    latest = await uow.run_datasets.latest_complete_run(pipeline.id)
    if latest is None:
        return
    inputs, outputs = latest
    await replace_edges(uow, pipeline, [(s, t) for s in inputs for t in outputs], origin="openlineage")
