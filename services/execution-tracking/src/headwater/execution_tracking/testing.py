"""An in-memory execution-tracking for use-case tests without Postgres: tables as dicts, fake repositories, a fake
unit of work that rolls back what it did not commit, and a fake run writer (the HTTP hot path).

Enough to run the run-recording use cases (pipelines, executions start/end, run reports); the address and
lineage repositories are not faked and raise if used.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast

import msgspec

from headwater.common import testing
from headwater.common.errors import Duplicate, MissingReference
from headwater.common.events import Event, RunEnded, RunStarted
from headwater.execution_tracking.domain.records import (
    BatchCounts,
    EndPlan,
    ExecutionRecord,
    PipelineRecord,
    PipelineTypeRecord,
    PipelineWithType,
    SloSettings,
    StartedExecution,
)
from headwater.execution_tracking.service_layer import executions, ports

TYPE_SETTINGS = SloSettings.__struct_fields__
STAMPS = ("last_target_insert", "last_target_update", "last_target_soft_delete")
# What a new pipeline type or pipeline holds unless given (the columns' defaults).
NO_SLO: dict[str, Any] = {
    "freshness_number": None,
    "freshness_datepart": None,
    "mute_freshness_check": False,
    "timeliness_number": None,
    "timeliness_datepart": None,
    "mute_timeliness_check": False,
}
NEW_PIPELINE: dict[str, Any] = {
    **NO_SLO,
    **dict.fromkeys(("watermark", "next_watermark", "pipeline_metadata", "request_digest", *STAMPS)),
    "load_lineage": True,
    "active": True,
}


class FakeDatabase:
    """The service's tables: rows by id (frozen records, so a shallow copy is a snapshot)."""

    def __init__(self) -> None:
        self.pipeline_types: dict[int, PipelineTypeRecord] = {}
        self.pipelines: dict[int, PipelineRecord] = {}
        self.executions: dict[int, ExecutionRecord] = {}
        self._ids = itertools.count(1)  # like a sequence: never rolled back

    def next_id(self) -> int:
        return next(self._ids)

    def snapshot(self) -> tuple[dict[int, Any], ...]:
        return dict(self.pipeline_types), dict(self.pipelines), dict(self.executions)

    def restore(self, snapshot: tuple[dict[int, Any], ...]) -> None:
        types, pipelines, executions = snapshot
        self.pipeline_types, self.pipelines, self.executions = dict(types), dict(pipelines), dict(executions)

    def with_type(self, pipeline: PipelineRecord) -> PipelineWithType:
        kind = self.pipeline_types[pipeline.pipeline_type_id]
        settings = SloSettings(**{name: getattr(kind, name) for name in TYPE_SETTINGS})
        return PipelineWithType(
            **msgspec.structs.asdict(pipeline), type_name=kind.name, type_settings=settings
        )


def _now() -> datetime:
    return datetime.now(UTC)


class FakePipelineTypes:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None:
        if await self.id_by_name(values["name"]) is not None:
            return None
        type_id = self.db.next_id()
        self.db.pipeline_types[type_id] = PipelineTypeRecord(
            **{**NO_SLO, **values}, id=type_id, created_at=_now(), updated_at=None
        )
        return type_id

    async def id_by_name(self, name: str) -> int | None:
        return next((t.id for t in self.db.pipeline_types.values() if t.name == name), None)

    async def get_or_create(self, name: str) -> int:
        created = await self.insert_if_absent({"name": name})
        return created if created is not None else cast(int, await self.id_by_name(name))

    async def get(self, type_id: int) -> PipelineTypeRecord | None:
        return self.db.pipeline_types.get(type_id)

    async def locked(self, row_id: int | None, name: str | None) -> PipelineTypeRecord | None:
        if row_id is None and name is not None:
            row_id = await self.id_by_name(name)
        return None if row_id is None else self.db.pipeline_types.get(row_id)

    async def list(self, limit: int, offset: int) -> list[PipelineTypeRecord]:
        return [self.db.pipeline_types[i] for i in sorted(self.db.pipeline_types)[offset : offset + limit]]

    async def update(self, type_id: int, values: Mapping[str, Any]) -> PipelineTypeRecord:
        if "name" in values and await self.id_by_name(values["name"]) not in (None, type_id):
            raise Duplicate(constraint="pipeline_type_name_key")
        row = msgspec.structs.replace(self.db.pipeline_types[type_id], **values, updated_at=_now())
        self.db.pipeline_types[type_id] = row
        return row


class FakePipelines:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def _id_by_name(self, name: str) -> int | None:
        return next((p.id for p in self.db.pipelines.values() if p.name == name), None)

    async def id_by_name(self, name: str) -> int | None:
        return self._id_by_name(name)

    def _check_type(self, values: Mapping[str, Any]) -> None:
        if "pipeline_type_id" in values and values["pipeline_type_id"] not in self.db.pipeline_types:
            raise MissingReference(constraint="pipeline_pipeline_type_id_fkey")

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None:
        if self._id_by_name(values["name"]) is not None:
            return None
        self._check_type(values)
        pipeline_id = self.db.next_id()
        self.db.pipelines[pipeline_id] = PipelineRecord(
            **{**NEW_PIPELINE, **values}, id=pipeline_id, created_at=_now(), updated_at=None
        )
        return pipeline_id

    async def locked(self, row_id: int | None, name: str | None) -> PipelineRecord | None:
        if row_id is None and name is not None:
            row_id = self._id_by_name(name)
        return None if row_id is None else self.db.pipelines.get(row_id)

    async def get(self, pipeline_id: int) -> PipelineRecord | None:
        return self.db.pipelines.get(pipeline_id)

    async def list(self, limit: int, offset: int) -> list[PipelineRecord]:
        return [self.db.pipelines[i] for i in sorted(self.db.pipelines)[offset : offset + limit]]

    async def update(self, pipeline_id: int, values: Mapping[str, Any]) -> PipelineRecord:
        if "name" in values and self._id_by_name(values["name"]) not in (None, pipeline_id):
            raise Duplicate(constraint="pipeline_name_key")
        self._check_type(values)
        row = msgspec.structs.replace(self.db.pipelines[pipeline_id], **values, updated_at=_now())
        self.db.pipelines[pipeline_id] = row
        return row

    async def with_type(self, pipeline_ids: Sequence[int]) -> list[PipelineWithType]:
        return [
            self.db.with_type(self.db.pipelines[i])
            for i in sorted(set(pipeline_ids))
            if i in self.db.pipelines
        ]

    async def with_type_by(self, ids: Sequence[int], names: Sequence[str]) -> list[PipelineWithType]:
        return [
            self.db.with_type(p)
            for p in self.db.pipelines.values()
            if p.id in set(ids) or p.name in set(names)
        ]

    async def lock_with_type(self, name: str) -> PipelineWithType | None:
        pipeline_id = self._id_by_name(name)
        return None if pipeline_id is None else self.db.with_type(self.db.pipelines[pipeline_id])

    async def ids_of_type(self, type_id: int) -> list[int]:
        return sorted(p.id for p in self.db.pipelines.values() if p.pipeline_type_id == type_id)

    async def record_success(self, pipeline_id: int, stamps: Mapping[str, datetime]) -> None:
        row = self.db.pipelines[pipeline_id]
        self.db.pipelines[pipeline_id] = msgspec.structs.replace(
            row, watermark=row.next_watermark, load_lineage=False, **stamps
        )

    async def record_successes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for r in rows:
            await self.record_success(r["pipeline_id"], {s: r[s] for s in STAMPS if r[s] is not None})


class FakeExecutions:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def _by_run_id(self, run_id: str) -> ExecutionRecord | None:
        return next((e for e in self.db.executions.values() if e.run_id == run_id), None)

    def _set(self, execution_id: int, values: Mapping[str, Any]) -> None:
        self.db.executions[execution_id] = msgspec.structs.replace(self.db.executions[execution_id], **values)

    async def merge_anomaly_flags(self, patches: Mapping[int, Mapping[str, bool]]) -> int:
        found = [i for i in patches if i in self.db.executions]
        for i in found:
            self._set(i, {"anomaly_flags": {**(self.db.executions[i].anomaly_flags or {}), **patches[i]}})
        return len(found)

    async def id_by_run_id(self, run_id: str) -> int | None:
        found = self._by_run_id(run_id)
        return None if found is None else found.id

    async def run_for_end(self, run_id: str) -> StartedExecution | None:
        return self._by_run_id(run_id)

    async def run_state(self, run_id: str) -> ExecutionRecord | None:
        return self._by_run_id(run_id)

    async def runs_for_end(self, run_ids: Sequence[str]) -> list[StartedExecution]:
        wanted = set(run_ids)
        return [e for e in self.db.executions.values() if e.run_id in wanted]

    async def start_many(self, rows: Sequence[Mapping[str, Any]]) -> list[StartedExecution]:
        for row in rows:  # one statement: a missing reference stores none of them
            if row["pipeline_id"] not in self.db.pipelines:
                raise MissingReference(constraint="pipeline_execution_pipeline_id_fkey")
            if row["parent_id"] is not None and row["parent_id"] not in self.db.executions:
                raise MissingReference(constraint="pipeline_execution_parent_id_fkey")
        stored: list[StartedExecution] = []
        for row in rows:
            if row["run_id"] is not None and self._by_run_id(row["run_id"]) is not None:
                continue
            execution = ExecutionRecord(**row, id=self.db.next_id())
            self.db.executions[execution.id] = execution
            stored.append(execution)
        return stored

    async def end_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            self._set(row["id"], {k: v for k, v in row.items() if k != "id"})

    async def attach(self, execution_id: int, parent_id: int) -> bool:
        child = self.db.executions[execution_id]
        subtree = {e.id for e in await self.tree(execution_id)}
        if child.parent_id is not None or parent_id in subtree:
            return False
        self._set(execution_id, {"parent_id": parent_id})
        return True

    async def update(self, execution_id: int, values: Mapping[str, Any]) -> None:
        self._set(execution_id, values)

    async def tree(self, execution_id: int) -> list[ExecutionRecord]:
        if execution_id not in self.db.executions:
            return []
        found, level = [self.db.executions[execution_id]], [execution_id]
        while level:
            below = sorted(
                (e for e in self.db.executions.values() if e.parent_id in level), key=lambda e: e.id
            )
            found += below
            level = [e.id for e in below]
        return found

    async def delete_old(self, cutoff: datetime, batch_size: int) -> BatchCounts:
        old = sorted(
            e.id
            for e in self.db.executions.values()
            if (e.end_date < cutoff if e.end_date is not None else e.start_date < cutoff)
        )[:batch_size]
        for i in old:
            del self.db.executions[i]
        return BatchCounts(executions=len(old))


class FakeUnitOfWork(testing.FakeUnitOfWork):
    """Implements `service_layer.unit_of_work.UnitOfWork` on a `FakeDatabase`; what a block writes without
    committing is rolled back on leaving it (and a failed savepoint's writes at once), as in Postgres.

    `committed_events` is the outbox: what committed blocks published, and what the run writer of
    `run_writer()` wrote.
    """

    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db or FakeDatabase()
        self._snapshot = self.db.snapshot()
        super().__init__()

    def bind(self) -> None:
        self.pipeline_types = FakePipelineTypes(self.db)
        self.pipelines = FakePipelines(self.db)
        self.executions = FakeExecutions(self.db)
        self.address_types = cast(ports.AddressTypes, testing.NotFaked("address types"))
        self.addresses = cast(ports.Addresses, testing.NotFaked("addresses"))
        self.lineage = cast(ports.Lineage, testing.NotFaked("lineage"))
        self.run_datasets = cast(ports.RunDatasets, testing.NotFaked("run datasets"))

    def run_writer(self) -> FakeRunWriter:
        """The hot-path writer on the same tables, its events written straight to `committed_events`."""
        return FakeRunWriter(self.db, self.committed_events)

    async def __aenter__(self) -> Self:
        self._snapshot = self.db.snapshot()
        return await super().__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.db.restore(self._snapshot)  # what was committed is the snapshot since the last commit
        await super().__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def savepoint(self) -> AsyncGenerator[None]:
        mark = self.db.snapshot()
        try:
            async with super().savepoint():
                yield
        except BaseException:
            self.db.restore(mark)
            raise

    async def commit(self) -> None:
        await super().commit()
        self._snapshot = self.db.snapshot()


class FakeRunWriter:
    """Implements `service_layer.ports.RunWriter` on a `FakeDatabase`; each write and its events at once."""

    def __init__(self, db: FakeDatabase, outbox: list[Event]) -> None:
        self.db = db
        self.outbox = outbox

    async def reserve(self, pipeline_id: int) -> tuple[int, str | None]:
        pipeline = self.db.pipelines.get(pipeline_id)
        return self.db.next_id(), None if pipeline is None else pipeline.name

    async def insert_started(self, execution: StartedExecution, events: Sequence[Event]) -> bool:
        parent = execution.parent_id
        if execution.pipeline_id not in self.db.pipelines or (
            parent is not None and parent not in self.db.executions
        ):
            return False
        self.db.executions[execution.id] = ExecutionRecord(**msgspec.structs.asdict(execution))
        self.outbox.extend(events)
        return True

    @asynccontextmanager
    async def ending(self) -> AsyncGenerator[ports.Ending]:
        yield FakeEnding(self)


class FakeEnding:
    def __init__(self, writer: FakeRunWriter) -> None:
        self.writer = writer

    async def lock(
        self, execution_id: int, *, with_pipeline: bool
    ) -> tuple[StartedExecution, PipelineWithType] | None:
        db = self.writer.db
        execution = db.executions.get(execution_id)
        if execution is None:
            return None
        return execution, db.with_type(db.pipelines[execution.pipeline_id])

    async def write(self, current: StartedExecution, plan: EndPlan, events: Sequence[Event]) -> None:
        db = self.writer.db
        db.executions[current.id] = msgspec.structs.replace(db.executions[current.id], **plan.values)
        if plan.stamps is not None:
            pipeline = db.pipelines[current.pipeline_id]
            db.pipelines[current.pipeline_id] = msgspec.structs.replace(
                pipeline, watermark=pipeline.next_watermark, load_lineage=False, **plan.stamps
            )
        self.writer.outbox.extend(events)


def events_of(events: Iterable[Event], kind: type[Event]) -> list[Any]:
    """The events of one kind, in order (for assertions)."""
    return [e for e in events if isinstance(e, kind)]


# -- runs as the tests report and end them ---------------------------------------------------------------------------


def run_started(tag: str, run: str, pipeline: str, *, parent: str | None = None, **fields: Any) -> RunStarted:
    """The report that run `<tag>-<run>` of `pipeline` started, as a child of run `<tag>-<parent>` when given."""
    parent_run_id = None if parent is None else f"{tag}-{parent}"
    return RunStarted(run_id=f"{tag}-{run}", pipeline_name=pipeline, parent_run_id=parent_run_id, **fields)


def run_ended(
    tag: str, run: str, pipeline: str, end_date: datetime, *, ok: bool = True, **fields: Any
) -> RunEnded:
    """The report that run `<tag>-<run>` of `pipeline` ended at `end_date`, successfully unless not `ok`."""
    return RunEnded(
        run_id=f"{tag}-{run}", pipeline_name=pipeline, end_date=end_date, completed_successfully=ok, **fields
    )


async def end_after(
    runs: ports.RunWriter,
    execution_id: int,
    start: datetime,
    seconds: float,
    *,
    ok: bool = True,
    **metrics: Any,
) -> datetime:
    """End `execution_id` through the run writer `seconds` after `start`, successfully unless not `ok`, with
    `metrics` (row counts, metadata); returns the end date."""
    end_date = start + timedelta(seconds=seconds)
    await executions.end_execution(
        runs, execution_id=execution_id, end_date=end_date, completed_successfully=ok, **metrics
    )
    return end_date


__all__ = [
    "NEW_PIPELINE",
    "NO_SLO",
    "FakeDatabase",
    "FakeRunWriter",
    "FakeUnitOfWork",
    "end_after",
    "events_of",
    "run_ended",
    "run_started",
]
