"""Use case for run reports from `ingress.runs`: the Kafka twin of start/end, idempotent by run id.

A batch is recorded set-based, with a handful of statements whatever its size. Should the database still
reject something the checks here let through, the batch is recorded again report by report, each in its own
savepoint and through the same code (a batch of one), so that only the offending reports are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.common.db.errors import is_transient
from headwater.common.errors import Duplicate, MissingReference, NotFound, UseCaseError
from headwater.common.events import RunEnded, RunStarted
from headwater.common.logging import get_logger
from headwater.execution_tracking.domain.records import PipelineWithType, StartedExecution
from headwater.execution_tracking.domain.rules import as_utc, normalise
from headwater.execution_tracking.service_layer.executions import (
    End,
    EndBeforeStart,
    plan_end,
    start_values,
    started_event,
)
from headwater.execution_tracking.service_layer.pipelines import pipeline_changed, publish_pipeline_changes
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


# -- the rules of one report ----------------------------------------------------------------------------------------


def report_start_values(r: Report, pipeline_id: int, parent_id: int | None) -> dict[str, Any]:
    """The columns of the execution a report starts (a `run.ended` with `start_date` starts one too)."""
    started = r if isinstance(r, RunStarted) else None
    return start_values(
        pipeline_id=pipeline_id,
        start_date=r.start_date,
        watermark=started.watermark if started else None,
        next_watermark=started.next_watermark if started else None,
        parent_id=parent_id,
        run_id=r.run_id,
    )


def report_end(r: RunEnded) -> End:
    counts = {
        "total_rows": r.total_rows,
        "inserts": r.inserts,
        "updates": r.updates,
        "soft_deletes": r.soft_deletes,
    }
    return End(r.end_date, r.completed_successfully, counts, r.execution_metadata)


def pipeline_name_of(report: Report) -> str:
    """The pipeline a report names, as pipelines are named (normalised)."""
    return normalise({"n": report.pipeline_name})["n"]


def unknown_pipeline(report: Report) -> NotFound:
    """A report's pipeline is missing (and, named for the first time, comes without its type)."""
    if report.pipeline_id is not None:
        return NotFound(f"pipeline {report.pipeline_id} not found")
    return NotFound(f"pipeline {report.pipeline_name!r} not found; send `pipeline_type_name` to create it")


def unknown_parent(parent_run_id: str) -> NotFound:
    return NotFound(f"parent run {parent_run_id!r} not found")


def end_start(report: RunEnded, stored: StartedExecution | None) -> datetime:
    """The start an end report ends: its run's, or the `start_date` it carries for a run never started;
    `NotFound` without either, `EndBeforeStart` when it ends before that start."""
    if stored is not None:
        start = stored.start_date
    elif report.start_date is not None:
        start = as_utc(report.start_date)
    else:
        raise NotFound(f"run {report.run_id!r} was never started; send its `start_date` to record it anyway")
    end = as_utc(report.end_date)
    if end < start:
        raise EndBeforeStart.of(start, end)
    return start


def starts_a_run(report: Report) -> bool:
    """A start, or an end that carries a start it does not precede (then it stores its run, if new)."""
    if isinstance(report, RunStarted):
        return True
    return report.start_date is not None and as_utc(report.end_date) >= as_utc(report.start_date)


# -- the use case ---------------------------------------------------------------------------------------------------


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
    fresh = await uow.claim(CONSUMER, (message_id(r) for r in reports))
    todo: list[tuple[int, Report]] = []
    for index, report in enumerate(reports):
        mid = message_id(report)
        if mid in fresh:
            fresh.discard(mid)  # the same report twice in one batch is recorded once
            todo.append((index, report))
    return todo


async def _record_batch(uow: UnitOfWork, reports: Sequence[Report]) -> list[Rejected]:
    async with uow:
        todo = await _fresh(uow, reports)
        batch = _Batch(uow)
        if todo:
            await batch.record(todo)
        await uow.commit()
        return batch.rejected


async def _record_one_by_one(uow: UnitOfWork, reports: Sequence[Report]) -> list[Rejected]:
    """The fallback: each report a batch of its own in a savepoint, starts before ends and parents first."""
    rejected: list[Rejected] = []
    async with uow:
        for index, report in _parents_first(await _fresh(uow, reports)):
            try:
                async with uow.savepoint():
                    batch = _Batch(uow)
                    await batch.record([(index, report)])
                rejected.extend(batch.rejected)
            except Duplicate:
                pass  # stored meanwhile by a concurrent consumer: recorded already
            except MissingReference as exc:  # what it refers to was deleted meanwhile
                refusal = getattr(exc.__cause__, "orig", exc.__cause__) or exc  # the database's own words
                rejected.append(Rejected(index, f"rejected by the database: {refusal}"))
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


class _Batch:
    """Reports recorded set-based in the caller's open unit of work: a few statements per batch."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.rejected: list[Rejected] = []
        self.pipelines: dict[int, PipelineWithType] = {}
        self.by_name: dict[str, int] = {}
        self.runs: dict[str | None, StartedExecution] = {}

    def reject(self, index: int, error: UseCaseError) -> None:
        self.rejected.append(Rejected(index, error.detail))

    async def record(self, todo: list[tuple[int, Report]]) -> None:
        todo = await self._resolve_pipelines(todo)
        run_ids = {r.run_id for _, r in todo} | {
            r.parent_run_id for _, r in todo if isinstance(r, RunStarted) and r.parent_run_id
        }
        self.runs = {run.run_id: run for run in await self.uow.executions.runs_for_end(sorted(run_ids))}
        unloaded = {run.pipeline_id for run in self.runs.values()} - self.pipelines.keys()
        if unloaded:  # a stored run belongs to its own pipeline, whatever a later report names
            await self._load_pipelines(sorted(unloaded), [])
        await self._starts(todo)
        await self._ends([(i, r) for i, r in todo if isinstance(r, RunEnded)])

    def _pipeline_of(self, report: Report) -> int | None:
        if report.pipeline_id is not None:
            return report.pipeline_id if report.pipeline_id in self.pipelines else None
        return self.by_name.get(pipeline_name_of(report))

    async def _resolve_pipelines(self, todo: list[tuple[int, Report]]) -> list[tuple[int, Report]]:
        ids = sorted({r.pipeline_id for _, r in todo if r.pipeline_id is not None})
        names = sorted({pipeline_name_of(r) for _, r in todo if r.pipeline_id is None})
        await self._load_pipelines(ids, names)
        created: list[int] = []
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
        await publish_pipeline_changes(self.uow, created)
        kept: list[tuple[int, Report]] = []
        for index, r in todo:
            if self._pipeline_of(r) is not None:
                kept.append((index, r))
            else:
                self.reject(index, unknown_pipeline(r))
        return kept

    async def _load_pipelines(self, ids: Sequence[int], names: Sequence[str]) -> None:
        for p in await self.uow.pipelines.with_type_by(ids, names):
            self.pipelines[p.id] = p
            self.by_name[p.name] = p.id

    async def _starts(self, todo: list[tuple[int, Report]]) -> None:
        """Insert the runs not stored yet, in waves so that a parent is stored before its children."""
        # Not stored already (a re-sent start, or an end that carried its start); an end that cannot start its
        # run is rejected by _ends unless a start in this batch stores the run.
        pending = [(i, r) for i, r in todo if r.run_id not in self.runs and starts_a_run(r)]
        while pending:
            wave: list[tuple[int, Report]] = []
            waiting: list[tuple[int, Report]] = []
            parents: dict[int, str] = {}
            rows: list[dict[str, Any]] = []
            queued: set[str] = set()
            for index, r in pending:
                parent_run = r.parent_run_id if isinstance(r, RunStarted) else None
                if r.run_id in queued or r.run_id in self.runs:
                    continue
                if parent_run is not None and parent_run not in self.runs:
                    waiting.append((index, r))
                    parents[index] = parent_run
                    continue
                parent_id = None if parent_run is None else self.runs[parent_run].id
                pipeline_id = self._pipeline_of(r)
                assert pipeline_id is not None  # resolved
                try:
                    row = report_start_values(r, pipeline_id, parent_id)
                except UseCaseError as exc:
                    self.reject(index, exc)
                    continue
                wave.append((index, r))
                rows.append(row)
                queued.add(r.run_id)
            if not rows:
                for index, _ in waiting:
                    self.reject(index, unknown_parent(parents[index]))
                return
            for stored in await self.uow.executions.start_many(rows):
                self.runs[stored.run_id] = stored
                self.uow.publish(started_event(stored, self.pipelines[stored.pipeline_id].name))
            missing = [r.run_id for _, r in wave if r.run_id not in self.runs]
            if missing:  # stored concurrently by someone else since we looked: take theirs
                stored_meanwhile = await self.uow.executions.runs_for_end(missing)
                self.runs.update({run.run_id: run for run in stored_meanwhile})
            pending = waiting

    async def _ends(self, ends: list[tuple[int, RunEnded]]) -> None:
        rows: list[dict[str, Any]] = []
        successes: dict[int, dict[str, Any]] = {}
        for index, r in ends:
            current = self.runs.get(r.run_id)
            try:
                start = end_start(r, current)
            except UseCaseError as exc:
                self.reject(index, exc)
                continue
            if current is None:  # its start was not stored (it was rejected)
                self.reject(index, EndBeforeStart.of(start, as_utc(r.end_date)))
                continue
            pipeline_id = current.pipeline_id
            plan = plan_end(current, self.pipelines[pipeline_id], report_end(r))
            rows.append({"id": current.id, **plan.values})
            self.uow.publish(plan.event)
            if plan.stamps is not None:
                # in report order: the last end wins, as when the reports are sent one by one
                successes.setdefault(pipeline_id, {"pipeline_id": pipeline_id, **dict.fromkeys(STAMPS)})
                successes[pipeline_id].update(plan.stamps)
        if rows:
            await self.uow.executions.end_many(rows)
        if successes:
            await self.uow.pipelines.record_successes(list(successes.values()))
            self.uow.publish(
                *(pipeline_changed(p) for p in await self.uow.pipelines.with_type(sorted(successes)))
            )
