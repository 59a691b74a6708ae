"""Run recording's real use cases on the in-memory unit of work: starts and ends over HTTP (the run writer) and
run reports from Kafka (the inbox), without Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.common.errors import NotFound
from headwater.common.events import (
    ExecutionEnded,
    ExecutionStarted,
    PipelineChanged,
    RunEnded,
    RunStarted,
)
from headwater.execution_tracking.service_layer import executions, pipelines, runs
from headwater.execution_tracking.service_layer.executions import EndBeforeStart
from headwater.execution_tracking.testing import FakeUnitOfWork, end_after, events_of, run_ended, run_started

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def kinds(uow: FakeUnitOfWork) -> list[str]:
    return [type(e).__name__ for e in uow.committed_events]


async def a_pipeline(uow: FakeUnitOfWork, name: str = "orders", **fields: object) -> int:
    created = await pipelines.upsert_pipeline(uow, {"name": name, "pipeline_type_name": "etl", **fields})
    return created.id


# -- start and end (the HTTP path, through the run writer) ----------------------------------------------------------


async def test_a_start_stores_the_execution_and_publishes_execution_started() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow, next_watermark="2024-05-31")
    writer = uow.run_writer()

    execution_id = await executions.start_execution(
        writer, pipeline_id=pipeline_id, start_date=T0 + timedelta(hours=2), watermark=7
    )
    child_id = await executions.start_execution(writer, pipeline_id=pipeline_id, parent_id=execution_id)

    stored = uow.db.executions[execution_id]
    assert (stored.pipeline_id, stored.start_date, stored.watermark) == (
        pipeline_id,
        T0 + timedelta(hours=2),
        "7",
    )
    assert (stored.hour_recorded, stored.date_recorded) == (10, T0.date())
    assert stored.end_date is None
    assert uow.db.executions[child_id].parent_id == execution_id
    started = events_of(uow.committed_events, ExecutionStarted)
    assert [(e.execution_id, e.pipeline_name, e.parent_id) for e in started] == [
        (execution_id, "orders", None),
        (child_id, "orders", execution_id),
    ]


async def test_a_start_of_an_unknown_pipeline_or_parent_is_not_found_and_writes_nothing() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow)
    before = list(uow.committed_events)

    with pytest.raises(NotFound, match="pipeline 999 not found"):
        await executions.start_execution(uow.run_writer(), pipeline_id=999)
    with pytest.raises(NotFound, match="parent execution 12345 not found"):
        await executions.start_execution(uow.run_writer(), pipeline_id=pipeline_id, parent_id=12345)

    assert uow.db.executions == {}
    assert uow.committed_events == before


async def test_a_successful_end_records_metrics_and_moves_the_watermark() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow, next_watermark="2024-05-31")
    writer = uow.run_writer()
    execution_id = await executions.start_execution(writer, pipeline_id=pipeline_id, start_date=T0)

    end = await end_after(
        writer, execution_id, T0, 300, total_rows=1000, inserts=800, updates=0, soft_deletes=3
    )

    stored = uow.db.executions[execution_id]
    assert (stored.end_date, stored.duration_seconds, stored.throughput) == (end, 300, 3.3333)
    assert (stored.completed_successfully, stored.inserts, stored.soft_deletes) == (True, 800, 3)
    pipeline = uow.db.pipelines[pipeline_id]
    assert (pipeline.watermark, pipeline.load_lineage) == ("2024-05-31", False)
    assert (pipeline.last_target_insert, pipeline.last_target_update, pipeline.last_target_soft_delete) == (
        end,
        None,
        end,
    )
    (ended,) = events_of(uow.committed_events, ExecutionEnded)
    assert (ended.execution_id, ended.duration_seconds, ended.completed_successfully) == (
        execution_id,
        300,
        True,
    )
    changed = events_of(uow.committed_events, PipelineChanged)[-1]
    assert (changed.watermark, changed.last_target_insert, changed.load_lineage) == ("2024-05-31", end, False)


async def test_a_failed_end_leaves_the_pipeline_as_it_was() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow, next_watermark="2024-05-31")
    writer = uow.run_writer()
    execution_id = await executions.start_execution(writer, pipeline_id=pipeline_id, start_date=T0)
    changes_before = len(events_of(uow.committed_events, PipelineChanged))

    await end_after(writer, execution_id, T0, 60, ok=False, inserts=5)

    assert uow.db.executions[execution_id].completed_successfully is False
    pipeline = uow.db.pipelines[pipeline_id]
    assert (pipeline.watermark, pipeline.last_target_insert, pipeline.load_lineage) == (None, None, True)
    assert len(events_of(uow.committed_events, PipelineChanged)) == changes_before
    assert [e.completed_successfully for e in events_of(uow.committed_events, ExecutionEnded)] == [False]


async def test_an_end_before_the_start_is_rejected_and_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow, next_watermark="w")
    writer = uow.run_writer()
    execution_id = await executions.start_execution(writer, pipeline_id=pipeline_id, start_date=T0)
    events_before = list(uow.committed_events)

    with pytest.raises(EndBeforeStart, match="end_date must be greater than start_date"):
        await end_after(writer, execution_id, T0, -1)
    with pytest.raises(NotFound):
        await end_after(writer, 424242, T0, 0)

    assert uow.db.executions[execution_id].end_date is None
    assert uow.db.pipelines[pipeline_id].watermark is None
    assert uow.committed_events == events_before


# -- run reports (the Kafka path, through the unit of work and its inbox) --------------------------------------------


def a_run(
    tag: str, pipeline: str = "reports", next_watermark: str | None = None
) -> list[RunStarted | RunEnded]:
    return [
        run_started(
            tag, "root", pipeline, pipeline_type_name="ETL", start_date=T0, next_watermark=next_watermark
        ),
        run_started(tag, "child", pipeline, parent="root", start_date=T0),
        run_ended(tag, "root", pipeline, T0 + timedelta(seconds=60), inserts=4, total_rows=120),
    ]


async def test_reports_create_a_pipeline_named_with_its_type() -> None:
    uow = FakeUnitOfWork()

    rejected = await runs.record_run_reports(
        uow, [RunStarted(run_id="r1", pipeline_name="  New Pipe ", pipeline_type_name=" ETL ", start_date=T0)]
    )

    assert rejected == []
    (pipeline,) = uow.db.pipelines.values()
    (kind,) = uow.db.pipeline_types.values()
    assert (pipeline.name, pipeline.pipeline_type_id, kind.name) == ("new pipe", kind.id, "etl")
    (changed,) = events_of(uow.committed_events, PipelineChanged)
    assert (changed.pipeline_id, changed.name, changed.pipeline_type_name) == (pipeline.id, "new pipe", "etl")
    (execution,) = uow.db.executions.values()
    assert (execution.run_id, execution.pipeline_id) == ("r1", pipeline.id)


async def test_reports_for_an_unknown_pipeline_are_rejected_with_the_reason() -> None:
    uow = FakeUnitOfWork()
    pipeline_id = await a_pipeline(uow, "known")
    reports: list[RunStarted | RunEnded] = [
        RunStarted(run_id="by-id", pipeline_id=999),
        RunStarted(run_id="by-name", pipeline_name="Nobody"),
        RunStarted(run_id="ok", pipeline_id=pipeline_id),
    ]

    rejected = await runs.record_run_reports(uow, reports)

    assert [(r.index, r.reason) for r in rejected] == [
        (0, "pipeline 999 not found"),
        (1, "pipeline 'Nobody' not found; send `pipeline_type_name` to create it"),
    ]
    assert [e.run_id for e in uow.db.executions.values()] == ["ok"]
    assert [p.name for p in uow.db.pipelines.values()] == ["known"]  # no pipeline without a type


async def test_a_batch_records_hierarchy_and_ends_and_a_resent_batch_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    reports = a_run("a", next_watermark="9")

    assert await runs.record_run_reports(uow, [*reports, reports[0]]) == []  # a start twice: recorded once

    by_run = {e.run_id: e for e in uow.db.executions.values()}
    assert set(by_run) == {"a-root", "a-child"}
    assert by_run["a-child"].parent_id == by_run["a-root"].id
    root = by_run["a-root"]
    assert (root.duration_seconds, root.throughput, root.completed_successfully) == (60, 2.0, True)
    (pipeline,) = uow.db.pipelines.values()
    assert (pipeline.watermark, pipeline.last_target_insert) == (None, T0 + timedelta(seconds=60))
    assert kinds(uow) == [
        "PipelineChanged",  # created
        "ExecutionStarted",
        "ExecutionStarted",
        "ExecutionEnded",
        "PipelineChanged",  # the successful end's handshake
    ]
    assert uow.processed[runs.CONSUMER] == {"started:a-root", "started:a-child", "ended:a-root"}
    state = (dict(uow.db.executions), dict(uow.db.pipelines), list(uow.committed_events))

    # the same reports again (a crash before the offsets were committed): the inbox skips every one
    assert await runs.record_run_reports(uow, reports) == []
    assert (dict(uow.db.executions), dict(uow.db.pipelines), list(uow.committed_events)) == state


async def test_reports_rejected_by_the_rules_say_why() -> None:
    uow = FakeUnitOfWork()
    reports: list[RunStarted | RunEnded] = [
        RunStarted(run_id="p", pipeline_name="reports", pipeline_type_name="t", start_date=T0),
        RunEnded(run_id="ghost", pipeline_name="reports", end_date=T0, completed_successfully=True),
        RunStarted(run_id="orphan", pipeline_name="reports", parent_run_id="nobody"),
        RunEnded(
            run_id="backwards",
            pipeline_name="reports",
            start_date=T0,
            end_date=T0 - timedelta(hours=1),
            completed_successfully=True,
        ),
        RunEnded(
            run_id="p",
            pipeline_name="reports",
            end_date=T0 - timedelta(seconds=1),
            completed_successfully=False,
        ),
    ]

    rejected = {
        reports[r.index].run_id + ("" if isinstance(reports[r.index], RunStarted) else ":end"): r.reason
        for r in await runs.record_run_reports(uow, reports)
    }

    assert rejected == {
        "ghost:end": "run 'ghost' was never started; send its `start_date` to record it anyway",
        "orphan": "parent run 'nobody' not found",
        "backwards:end": "end_date must be greater than start_date (2024-06-01T07:00:00+00:00 is before "
        "2024-06-01T08:00:00+00:00)",
        "p:end": "end_date must be greater than start_date (2024-06-01T07:59:59+00:00 is before "
        "2024-06-01T08:00:00+00:00)",
    }
    assert [e.run_id for e in uow.db.executions.values()] == ["p"]
    assert uow.db.executions[next(iter(uow.db.executions))].end_date is None


async def test_the_one_by_one_fallback_applies_the_same_rules() -> None:
    fast, slow = FakeUnitOfWork(), FakeUnitOfWork()
    reports: list[RunStarted | RunEnded] = [
        *a_run("a"),
        RunStarted(run_id="orphan", pipeline_name="reports", parent_run_id="nobody"),
        RunStarted(run_id="stranger", pipeline_id=999),
    ]

    fast_rejected = await runs.record_run_reports(fast, reports)
    slow_rejected = await runs._record_one_by_one(slow, reports)  # pyright: ignore[reportPrivateUsage]

    def by_index(rejected: list[runs.Rejected]) -> list[tuple[int, str]]:
        return sorted((r.index, r.reason) for r in rejected)

    assert by_index(fast_rejected) == by_index(slow_rejected)
    assert by_index(fast_rejected) == [(3, "parent run 'nobody' not found"), (4, "pipeline 999 not found")]

    def shape(uow: FakeUnitOfWork) -> list[tuple[object, ...]]:
        return sorted(
            (e.run_id, e.parent_id is not None, e.duration_seconds, e.completed_successfully)
            for e in uow.db.executions.values()
        )

    assert shape(fast) == shape(slow)
    assert [k for k in kinds(fast) if k.startswith("Execution")] == [
        k for k in kinds(slow) if k.startswith("Execution")
    ]


async def test_events_and_the_inbox_are_committed_with_the_batch_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uow = FakeUnitOfWork()
    reports = a_run("a")
    real_end_many = uow.executions.end_many
    failures = [ConnectionResetError("the database went away")]

    async def end_many_once_away(rows: object) -> None:
        if failures:
            raise failures.pop()
        await real_end_many(rows)  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(uow.executions, "end_many", end_many_once_away)

    # the database goes away after the starts were written: the caller is told to retry the batch
    with pytest.raises(ConnectionResetError):
        await runs.record_run_reports(uow, reports)
    assert uow.committed_events == []
    assert uow.commits == 0
    assert uow.processed == {}  # the reports are not marked processed: the retry records them
    assert uow.db.executions == {}
    assert uow.db.pipelines == {}

    assert await runs.record_run_reports(uow, reports) == []
    assert kinds(uow) == [
        "PipelineChanged",
        "ExecutionStarted",
        "ExecutionStarted",
        "ExecutionEnded",
        "PipelineChanged",
    ]
    assert uow.commits == 1
