"""Use case for run reports from `ingress.runs`: the Kafka twin of start/end, idempotent by run id.

A batch is recorded set-based, with a handful of statements whatever its size. Should the database still
reject something the checks here let through, the batch is recorded again report by report, each in its own
savepoint, so that only the offending reports are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from headwater.common.db.errors import is_transient
from headwater.common.events import RunEnded, RunStarted
from headwater.common.logging import get_logger
from headwater.common.messaging.inbox import claim_new
from headwater.execution_tracking.adapters.db.repositories import ExecutionBatches, Row, is_unique_violation
from headwater.execution_tracking.adapters.db.tables import inbox
from headwater.execution_tracking.domain.rules import (
    as_utc,
    normalise,
)
from headwater.execution_tracking.service_layer.errors import NotFound, UseCaseError
from headwater.execution_tracking.service_layer.executions import (
    _end,
    _start,
    plan_end,
    start_values,
    started_event,
)
from headwater.execution_tracking.service_layer.pipelines import (
    _publish_pipeline_changes,
    pipeline_changed,
)
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

CONSUMER = "execution-tracking.ingress-runs"
STAMPS = ("last_target_insert", "last_target_update", "last_target_soft_delete")
Report = RunStarted | RunEnded


@dataclass(frozen=True)
class Rejected:
    """A report that cannot be recorded, and why; it goes to the dead-letter topic."""

    index: int
    reason: str


def message_id(report: Report) -> str:
    kind = "started" if isinstance(report, RunStarted) else "ended"
    return f"{kind}:{report.run_id}"


def report_start_values(r: Report, pipeline_id: int, parent_id: int | None) -> dict[str, Any]:
    """The columns of the execution a report starts (a `run.ended` with `start_date` starts one too)."""
    started = isinstance(r, RunStarted)
    return start_values(
        pipeline_id=pipeline_id,
        start_date=r.start_date,
        watermark=r.watermark if started else None,  # type: ignore[union-attr]
        next_watermark=r.next_watermark if started else None,  # type: ignore[union-attr]
        parent_id=parent_id,
        run_id=r.run_id,
    )


def report_counts(r: RunEnded) -> dict[str, int | None]:
    return {
        "total_rows": r.total_rows,
        "inserts": r.inserts,
        "updates": r.updates,
        "soft_deletes": r.soft_deletes,
    }


async def record_run_reports(uow: UnitOfWork, reports: Sequence[Report]) -> list[Rejected]:
    """Record a batch of reports; returns the rejected ones (everything else is committed).

    A report already processed (same kind, same run id) is skipped, so re-sent reports are harmless.
    """
    try:
        return await _record_batch(uow, reports)
    except Exception as exc:
        if is_transient(exc):
            raise  # the database is away: the caller retries the whole batch later
        log.warning("run_batch_failed_recording_one_by_one", size=len(reports), error=repr(exc)[:500])
        return await _record_one_by_one(uow, reports)


async def _fresh(uow: UnitOfWork, reports: Sequence[Report]) -> list[tuple[int, Report]]:
    """The reports not processed before, each once, in batch order; records them in the inbox."""
    fresh = await claim_new(uow.conn, inbox, CONSUMER, (message_id(r) for r in reports))
    todo = []
    for index, report in enumerate(reports):
        mid = message_id(report)
        if mid in fresh:
            fresh.discard(mid)  # the same report twice in one batch is recorded once
            todo.append((index, report))
    return todo


# -- the set-based path ------------------------------------------------------------------------------------------


async def _record_batch(uow: UnitOfWork, reports: Sequence[Report]) -> list[Rejected]:
    async with uow:
        todo = await _fresh(uow, reports)
        batch = _Batch(uow)
        if todo:
            await batch.record(todo)
        await uow.commit()
        return batch.rejected


class _Batch:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.db = ExecutionBatches(uow.conn)
        self.rejected: list[Rejected] = []
        self.pipelines: dict[int, Row] = {}
        self.by_name: dict[str, int] = {}
        self.runs: dict[str, Row] = {}

    def reject(self, index: int, reason: str) -> None:
        self.rejected.append(Rejected(index, reason))

    async def record(self, todo: list[tuple[int, Report]]) -> None:
        todo = await self._resolve_pipelines(todo)
        run_ids = {r.run_id for _, r in todo} | {
            r.parent_run_id for _, r in todo if isinstance(r, RunStarted) and r.parent_run_id
        }
        self.runs = {row["run_id"]: row for row in await self.db.by_run_ids(sorted(run_ids))}
        unloaded = {row["pipeline_id"] for row in self.runs.values()} - self.pipelines.keys()
        if unloaded:  # a stored run belongs to its own pipeline, whatever a later report names
            await self._load_pipelines(sorted(unloaded), [])
        await self._starts(todo)
        await self._ends([(i, r) for i, r in todo if isinstance(r, RunEnded)])

    def _pipeline_of(self, report: Report) -> int | None:
        if report.pipeline_id is not None:
            return report.pipeline_id if report.pipeline_id in self.pipelines else None
        return self.by_name.get(normalise({"n": report.pipeline_name})["n"])

    async def _resolve_pipelines(self, todo: list[tuple[int, Report]]) -> list[tuple[int, Report]]:
        ids = sorted({r.pipeline_id for _, r in todo if r.pipeline_id is not None})
        names = sorted({normalise({"n": r.pipeline_name})["n"] for _, r in todo if r.pipeline_id is None})
        await self._load_pipelines(ids, names)
        created = []
        for _, r in todo:  # a pipeline named for the first time, with its type, is created
            if r.pipeline_id is None and self._pipeline_of(r) is None and r.pipeline_type_name is not None:
                fields = normalise({"name": r.pipeline_name, "type": r.pipeline_type_name})
                type_id = await self.uow.pipeline_types.get_or_create(fields["type"])
                new_id = await self.uow.pipelines.insert_if_absent(
                    {"name": fields["name"], "pipeline_type_id": type_id}
                )
                if new_id is not None:
                    created.append(new_id)
                await self._load_pipelines([], [fields["name"]])
        await _publish_pipeline_changes(self.uow, created)
        kept = []
        for index, r in todo:
            if self._pipeline_of(r) is not None:
                kept.append((index, r))
            elif r.pipeline_id is not None:
                self.reject(index, f"pipeline {r.pipeline_id} not found")
            else:
                self.reject(
                    index, f"pipeline {r.pipeline_name!r} not found; send `pipeline_type_name` to create it"
                )
        return kept

    async def _load_pipelines(self, ids: Sequence[int], names: Sequence[str]) -> None:
        for row in await self.db.pipelines_with_type(ids, names):
            self.pipelines[row["id"]] = row
            self.by_name[row["name"]] = row["id"]

    async def _starts(self, todo: list[tuple[int, Report]]) -> None:
        """Insert the runs not stored yet, in waves so that a parent is stored before its children."""
        pending: list[tuple[int, Report]] = []
        for index, r in todo:
            if r.run_id in self.runs:
                continue  # already stored (re-sent start, or an end that carried its start)
            if isinstance(r, RunEnded) and (
                r.start_date is None or as_utc(r.end_date) < as_utc(r.start_date)
            ):
                continue  # rejected by _ends unless a start in this batch stores the run
            pending.append((index, r))
        while pending:
            wave, waiting, rows = [], [], []
            queued: set[str] = set()
            for index, r in pending:
                parent_run = r.parent_run_id if isinstance(r, RunStarted) else None
                if r.run_id in queued or r.run_id in self.runs:
                    continue
                if parent_run is not None and parent_run not in self.runs:
                    waiting.append((index, r))
                    continue
                parent_id = None if parent_run is None else self.runs[parent_run]["id"]
                try:
                    row = report_start_values(r, self._pipeline_of(r), parent_id)  # type: ignore[arg-type]
                except UseCaseError as exc:
                    self.reject(index, exc.detail)
                    continue
                wave.append((index, r))
                rows.append(row)
                queued.add(r.run_id)
            if not rows:
                for index, r in waiting:
                    self.reject(index, f"parent run {r.parent_run_id!r} not found")  # type: ignore[union-attr]
                return
            for stored in await self.db.start_many(rows):
                self.runs[stored["run_id"]] = stored
                self.uow.publish(started_event(stored, self.pipelines[stored["pipeline_id"]]["name"]))
            missing = [r.run_id for _, r in wave if r.run_id not in self.runs]
            if missing:  # stored concurrently by someone else since we looked: take theirs
                self.runs.update({row["run_id"]: row for row in await self.db.by_run_ids(missing)})
            pending = waiting

    async def _ends(self, ends: list[tuple[int, RunEnded]]) -> None:
        rows: list[dict[str, Any]] = []
        successes: dict[int, dict[str, Any]] = {}
        for index, r in ends:
            current = self.runs.get(r.run_id)
            end = as_utc(r.end_date)
            start = current["start_date"] if current else as_utc(r.start_date) if r.start_date else None
            if start is None:
                self.reject(
                    index, f"run {r.run_id!r} was never started; send its `start_date` to record it anyway"
                )
                continue
            if current is None or end < start:
                self.reject(
                    index,
                    f"end_date must be greater than start_date ({end.isoformat()} is before "
                    f"{start.isoformat()})",
                )
                continue
            pipeline_id = current["pipeline_id"]
            plan = plan_end(
                current,
                self.pipelines[pipeline_id],
                end_date=end,
                completed_successfully=r.completed_successfully,
                counts=report_counts(r),
                execution_metadata=r.execution_metadata,
            )
            rows.append({"id": current["id"], **plan.values})
            self.uow.publish(plan.event)
            if plan.stamps is not None:
                # in report order: the last end wins, as when the reports are sent one by one
                successes.setdefault(pipeline_id, {"pipeline_id": pipeline_id, **dict.fromkeys(STAMPS)})
                successes[pipeline_id].update(plan.stamps)
        if rows:
            await self.db.end_many(rows)
        if successes:
            await self.db.record_successes(list(successes.values()))
            self.uow.publish(
                *(pipeline_changed(p) for p in await self.uow.pipelines.with_type(sorted(successes)))
            )


# -- the fallback: one report at a time ------------------------------------------------------------------------


async def _record_one_by_one(uow: UnitOfWork, reports: Sequence[Report]) -> list[Rejected]:
    rejected: list[Rejected] = []
    async with uow:
        for index, report in _parents_first(await _fresh(uow, reports)):
            try:
                async with uow.savepoint():
                    await _record(uow, report)
            except UseCaseError as exc:
                rejected.append(Rejected(index, exc.detail))
            except IntegrityError as exc:
                if not is_unique_violation(exc):  # a concurrent duplicate is already recorded
                    rejected.append(Rejected(index, f"rejected by the database: {exc.orig}"))
            except Exception as exc:
                if is_transient(exc):
                    raise
                # a report this code cannot record (a bug, a value the database refuses) must not block the
                # stream: it is dead-lettered with the reason, and the rest of the batch is kept
                log.exception("run_report_failed", run_id=report.run_id)
                rejected.append(Rejected(index, f"could not be recorded: {exc!r}"[:2000]))
        await uow.commit()
    return rejected


def _parents_first(todo: list[tuple[int, Report]]) -> list[tuple[int, Report]]:
    """Starts first, each after its parent's start when both are in the batch, then ends (as the batch path)."""
    parents = {r.run_id: r.parent_run_id for _, r in todo if isinstance(r, RunStarted)}

    def depth(run_id: str) -> int:
        seen: set[str] = set()
        while (parent := parents.get(run_id)) is not None and parent in parents and parent not in seen:
            seen.add(run_id)
            run_id = parent
        return len(seen)

    return sorted(
        todo, key=lambda item: (0, depth(item[1].run_id)) if isinstance(item[1], RunStarted) else (1, 0)
    )


async def _resolve_pipeline(uow: UnitOfWork, report: Report) -> tuple[int, str]:
    """The report's pipeline (id, name), created when named for the first time with its type."""
    if report.pipeline_id is not None:
        row = await uow.pipelines.get(report.pipeline_id)
        if row is None:
            raise NotFound(f"pipeline {report.pipeline_id} not found")
        return row["id"], row["name"]
    fields = normalise({"name": report.pipeline_name, "type": report.pipeline_type_name})
    found = await uow.pipelines.find_for_update(name=fields["name"])
    if found is None:
        if fields["type"] is None:
            raise NotFound(f"pipeline {fields['name']!r} not found; send `pipeline_type_name` to create it")
        type_id = await uow.pipeline_types.get_or_create(fields["type"])
        created = await uow.pipelines.insert_if_absent({"name": fields["name"], "pipeline_type_id": type_id})
        if created is not None:
            await _publish_pipeline_changes(uow, [created])
            return created, fields["name"]
        found = await uow.pipelines.find_for_update(name=fields["name"])
        assert found is not None
    return found["id"], found["name"]


async def _parent_id(uow: UnitOfWork, parent_run_id: str | None) -> int | None:
    if parent_run_id is None:
        return None
    parent = await uow.executions.id_by_run_id(parent_run_id)
    if parent is None:
        raise NotFound(f"parent run {parent_run_id!r} not found")
    return parent


async def _record(uow: UnitOfWork, report: Report) -> None:
    if isinstance(report, RunStarted):
        if await uow.executions.id_by_run_id(report.run_id) is not None:
            return  # an end carrying its start_date recorded this run already
        pipeline_id, name = await _resolve_pipeline(uow, report)
        parent_id = await _parent_id(uow, report.parent_run_id)
        await _start(uow, name, report_start_values(report, pipeline_id, parent_id))
        return
    current = await uow.executions.run_for_end(report.run_id)
    if current is None:
        if report.start_date is None:
            raise NotFound(
                f"run {report.run_id!r} was never started; send its `start_date` to record it anyway"
            )
        pipeline_id, name = await _resolve_pipeline(uow, report)
        await _start(uow, name, report_start_values(report, pipeline_id, None))
        current = await uow.executions.run_for_end(report.run_id)
        assert current is not None
    await _end(
        uow,
        current,
        end_date=report.end_date,
        completed_successfully=report.completed_successfully,
        counts=report_counts(report),
        execution_metadata=report.execution_metadata,
    )
