"""Run reports recorded set-based, replayed, and through the one-by-one fallback, on the real Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from headwater.common.events import RunEnded, RunStarted
from headwater.execution_tracking.adapters.db.tables import outbox, pipeline, pipeline_execution
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.service_layer import runs
from headwater.execution_tracking.testing import run_ended, run_started

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def batch_of(tag: str) -> list[RunStarted | RunEnded]:
    name = f"reports {tag}"
    return [
        run_started(tag, "root", name, pipeline_type_name="t", start_date=T0, next_watermark=9),
        run_started(tag, "grandchild", name, parent="child", start_date=T0),
        run_started(tag, "child", name, parent="root", start_date=T0),
        run_ended(tag, "child", name, T0 + timedelta(seconds=30), inserts=3, total_rows=3),
        run_ended(tag, "root", name, T0 + timedelta(seconds=60), updates=1, total_rows=90),
        run_ended(tag, "late", name, T0 + timedelta(seconds=5), ok=False, start_date=T0),
        run_ended(tag, "ghost", name, T0),
        run_started(tag, "orphan", name, parent="nobody"),
        run_ended(tag, "backwards", name, T0 - timedelta(hours=1), start_date=T0),
        run_started(tag, "stranger", f"unknown {tag}"),
    ]


async def state(c: Container, tag: str) -> dict[str, Any]:
    """What a batch left behind, with ids replaced by run ids so two batches compare."""
    async with c.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(pipeline_execution).where(pipeline_execution.c.run_id.like(f"{tag}-%"))
                )
            )
            .mappings()
            .all()
        )
        by_id = {r["id"]: r["run_id"].split("-", 1)[1] for r in rows}
        executions = {
            by_id[r["id"]]: (
                by_id.get(r["parent_id"]),
                r["duration_seconds"],
                r["throughput"],
                r["completed_successfully"],
                r["next_watermark"],
            )
            for r in rows
        }
        p = (await conn.execute(select(pipeline).where(pipeline.c.name == f"reports {tag}"))).mappings().one()
        events = [
            msgspec.json.decode(e)["type"]
            for e in (
                await conn.execute(
                    select(outbox.c.payload).where(outbox.c.key == str(p["id"])).order_by(outbox.c.id)
                )
            ).scalars()
        ]
    return {
        "executions": executions,
        "pipeline": (p["watermark"], p["last_target_insert"], p["last_target_update"], p["load_lineage"]),
        "events": events,
    }


async def test_a_batch_is_recorded_with_hierarchy_metrics_and_rejections(container: Container) -> None:
    tag = uuid.uuid4().hex[:8]
    reports = batch_of(tag)
    rejected = await runs.record_run_reports(container.uow_factory(), reports)
    reasons = {reports[r.index].run_id.split("-", 1)[1]: r.reason for r in rejected}
    assert set(reasons) == {"ghost", "orphan", "backwards", "stranger"}
    assert "never started" in reasons["ghost"]
    assert "parent run" in reasons["orphan"]
    assert "end_date must be greater than start_date" in reasons["backwards"]
    assert "not found" in reasons["stranger"]
    s = await state(container, tag)
    assert s["executions"] == {
        "root": (None, 60, 1.5, True, "9"),
        "child": ("root", 30, 0.1, True, None),
        "grandchild": ("child", None, None, None, None),
        "late": (None, 5, None, False, None),
    }
    # the pipeline has no next_watermark of its own; the last successful end with updates stamps the update
    assert s["pipeline"] == (None, T0 + timedelta(seconds=30), T0 + timedelta(seconds=60), False)
    assert s["events"].count("execution.started.v1") == 4
    assert s["events"].count("execution.ended.v1") == 3

    # replaying the very same batch (a crash before the offsets were committed) changes nothing
    assert len(await runs.record_run_reports(container.uow_factory(), reports)) == 0
    assert await state(container, tag) == s


async def test_one_by_one_fallback_gives_the_same_result(container: Container) -> None:
    fast, slow = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    fast_rejected = await runs.record_run_reports(container.uow_factory(), batch_of(fast))
    slow_rejected = await runs._record_one_by_one(container.uow_factory(), batch_of(slow))
    assert sorted(r.index for r in fast_rejected) == sorted(r.index for r in slow_rejected)
    fast_state, slow_state = await state(container, fast), await state(container, slow)
    assert fast_state["executions"] == slow_state["executions"]
    assert fast_state["pipeline"] == slow_state["pipeline"]

    def execution_events(st: dict[str, Any]) -> list[str]:
        return sorted(e for e in st["events"] if e.startswith("execution."))

    assert execution_events(fast_state) == execution_events(slow_state)
    # one pipeline.changed per batch on the fast path, one per successful end on the slow one: same final state
    assert "pipeline.changed.v1" in fast_state["events"]


async def test_a_report_that_cannot_be_recorded_is_rejected_and_the_rest_kept(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    reports = [
        run_started(tag, "ok", f"reports {tag}", pipeline_type_name="t", start_date=T0),
        run_started(tag, "poison", f"reports {tag}", start_date=T0),
    ]
    real_record = runs._Batch.record

    async def record(self: runs._Batch, todo: list[tuple[int, runs.Report]]) -> None:
        if any(r.run_id.endswith("poison") for _, r in todo):  # the whole batch, then the poison on its own
            raise KeyError("a bug met by one report")
        await real_record(self, todo)

    monkeypatch.setattr(runs._Batch, "record", record)
    rejected = await runs.record_run_reports(container.uow_factory(), reports)
    assert [(r.index, "KeyError" in r.reason) for r in rejected] == [(1, True)]
    assert set((await state(container, tag))["executions"]) == {"ok"}
