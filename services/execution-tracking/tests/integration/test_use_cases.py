"""Use cases against the real Postgres: upserts, the watermark handshake, hierarchy, errors, outbox rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from headwater.common.errors import Conflict, Invalid, NotFound
from headwater.execution_tracking.adapters.db.tables import outbox, pipeline_execution_closure
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.service_layer import executions, pipelines
from headwater.execution_tracking.service_layer.executions import EndBeforeStart
from headwater.execution_tracking.testing import end_after

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def outbox_events(c: Container, key: str) -> list[dict[str, Any]]:
    async with c.engine.connect() as conn:
        rows = (
            await conn.execute(select(outbox.c.payload).where(outbox.c.key == key).order_by(outbox.c.id))
        ).all()
    return [msgspec.json.decode(r[0]) for r in rows]


async def test_pipeline_type_upsert_is_get_or_create(container: Container) -> None:
    name = unique("Type")
    first, created = await pipelines.upsert_pipeline_type(
        container.uow_factory(), {"name": name, "freshness_number": 1, "freshness_datepart": "day"}
    )
    again, created_again = await pipelines.upsert_pipeline_type(
        container.uow_factory(), {"name": f"  {name.upper()} "}
    )
    assert (created, created_again) == (True, False)
    assert first == again
    row = await pipelines.get_pipeline_type(container.uow_factory(), first)
    assert row.name == name.lower()
    assert row.freshness_number == 1  # the second request did not update it


async def test_pipeline_upsert_create_then_update_only_when_different(container: Container) -> None:
    name = unique("Pipe")
    created = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": name, "pipeline_type_name": "extraction", "next_watermark": "W1"}
    )
    assert created.created
    assert (created.active, created.load_lineage, created.watermark) == (True, True, None)
    same = await pipelines.upsert_pipeline(
        container.uow_factory(),
        {"name": name.upper(), "pipeline_type_name": "Extraction", "next_watermark": "W1"},
    )
    assert not same.created
    assert same.id == created.id
    row = await pipelines.get_pipeline(container.uow_factory(), created.id)
    assert row.next_watermark == "W1"
    assert row.updated_at is None  # identical request: nothing written
    await pipelines.upsert_pipeline(
        container.uow_factory(),
        {
            "name": name,
            "pipeline_type_name": "extraction",
            "timeliness_number": 2,
            "timeliness_datepart": "hour",
        },
    )
    row = await pipelines.get_pipeline(container.uow_factory(), created.id)
    assert (row.timeliness_number, row.timeliness_datepart) == (2, "hour")
    assert row.next_watermark == "W1"  # not sent, so not touched
    events = await outbox_events(container, str(created.id))
    assert [e["type"] for e in events] == ["pipeline.changed.v1", "pipeline.changed.v1"]


async def test_patch_pipeline_sets_fields_and_rejects_duplicates(container: Container) -> None:
    a = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": unique("a"), "pipeline_type_name": "t"}
    )
    b_name = unique("b")
    await pipelines.upsert_pipeline(container.uow_factory(), {"name": b_name, "pipeline_type_name": "t"})
    row = await pipelines.patch_pipeline(
        container.uow_factory(),
        {"id": a.id, "mute_freshness_check": True, "load_lineage": False, "watermark": 17},
    )
    assert (row.mute_freshness_check, row.load_lineage, row.watermark) == (True, False, "17")
    assert row.updated_at is not None
    with pytest.raises(Conflict):
        await pipelines.patch_pipeline(container.uow_factory(), {"id": a.id, "name": b_name})
    with pytest.raises(NotFound):
        await pipelines.patch_pipeline(container.uow_factory(), {"id": 10**12, "active": False})
    with pytest.raises(NotFound):
        await pipelines.patch_pipeline(container.uow_factory(), {"id": a.id, "pipeline_type_id": 10**12})
    with pytest.raises(Invalid):
        await pipelines.patch_pipeline(container.uow_factory(), {"id": a.id, "freshness_number": 3})


async def test_watermark_handshake_moves_only_on_success(container: Container) -> None:
    name = unique("wm")
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-01"}
    )
    first = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=T0)
    await end_after(container.runs, first, T0, 60, ok=False, inserts=5)
    row = await pipelines.get_pipeline(container.uow_factory(), p.id)
    assert row.watermark is None  # a failed run changes nothing on the pipeline
    assert row.last_target_insert is None
    assert row.load_lineage is True

    again = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-01"}
    )
    assert again.watermark is None  # the range (None, 2024-01-01] is retried
    second = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=T0)
    end = await end_after(
        container.runs, second, T0, 300, total_rows=1000, inserts=800, updates=0, soft_deletes=3
    )
    row = await pipelines.get_pipeline(container.uow_factory(), p.id)
    assert row.watermark == "2024-01-01"
    assert (row.last_target_insert, row.last_target_update, row.last_target_soft_delete) == (
        end,
        None,
        end,
    )
    assert row.load_lineage is False
    nxt = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-02"}
    )
    assert nxt.watermark == "2024-01-01"

    tree = await executions.get_execution_tree(container.uow_factory(), second)
    assert (tree["duration_seconds"], tree["throughput"], tree["completed_successfully"]) == (
        300,
        3.3333,
        True,
    )
    assert (tree["hour_recorded"], str(tree["date_recorded"])) == (10, "2024-03-01")
    events = [e for e in await outbox_events(container, str(p.id)) if e["type"] == "execution.ended.v1"]
    assert [e["completed_successfully"] for e in events] == [False, True]
    assert events[1]["duration_seconds"] == 300
    assert events[1]["throughput"] == 3.3333


async def test_hierarchy_three_levels_deep_with_self_rows(container: Container) -> None:
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": unique("tree"), "pipeline_type_name": "t"}
    )
    root = await executions.start_execution(container.runs, pipeline_id=p.id)
    child = await executions.start_execution(container.runs, pipeline_id=p.id, parent_id=root)
    sibling = await executions.start_execution(container.runs, pipeline_id=p.id, parent_id=root)
    grandchild = await executions.start_execution(container.runs, pipeline_id=p.id, parent_id=child)
    great = await executions.start_execution(container.runs, pipeline_id=p.id, parent_id=grandchild)
    tree = await executions.get_execution_tree(container.uow_factory(), root)
    assert [c["id"] for c in tree["child_executions"]] == [child, sibling]
    assert tree["child_executions"][0]["child_executions"][0]["id"] == grandchild
    assert tree["child_executions"][0]["child_executions"][0]["child_executions"][0]["id"] == great
    async with container.engine.connect() as conn:
        pairs = set(
            (
                await conn.execute(
                    select(
                        pipeline_execution_closure.c.parent_execution_id, pipeline_execution_closure.c.depth
                    ).where(pipeline_execution_closure.c.child_execution_id == great)
                )
            ).all()
        )
    assert pairs == {(great, 0), (grandchild, 1), (child, 2), (root, 3)}
    assert (await executions.get_execution_tree(container.uow_factory(), child))["id"] == child


async def test_errors_instead_of_500s(container: Container) -> None:
    with pytest.raises(NotFound):
        await executions.start_execution(container.runs, pipeline_id=10**12)
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": unique("err"), "pipeline_type_name": "t"}
    )
    with pytest.raises(NotFound, match="parent"):
        await executions.start_execution(container.runs, pipeline_id=p.id, parent_id=10**12)
    with pytest.raises(NotFound):
        await end_after(container.runs, 10**12, T0, 0)
    run = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=T0)
    with pytest.raises(EndBeforeStart):
        await end_after(container.runs, run, T0, -1)
    with pytest.raises(NotFound):
        await executions.get_execution_tree(container.uow_factory(), 10**12)
    with pytest.raises(NotFound):
        await pipelines.get_pipeline(container.uow_factory(), 10**12)
    with pytest.raises(NotFound):
        await pipelines.get_pipeline_type(container.uow_factory(), 10**12)


async def test_reending_overwrites(container: Container) -> None:
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": unique("re"), "pipeline_type_name": "t"}
    )
    run = await executions.start_execution(container.runs, pipeline_id=p.id, start_date=T0)
    await end_after(container.runs, run, T0, 10, ok=False)
    await end_after(container.runs, run, T0, 20, total_rows=0)
    tree = await executions.get_execution_tree(container.uow_factory(), run)
    assert (tree["duration_seconds"], tree["completed_successfully"], tree["throughput"]) == (20, True, 0.0)


async def test_patching_a_type_reaches_its_pipelines_events(container: Container) -> None:
    type_name = unique("type")
    p = await pipelines.upsert_pipeline(
        container.uow_factory(), {"name": unique("inherits"), "pipeline_type_name": type_name}
    )
    row = await pipelines.patch_pipeline_type(
        container.uow_factory(),
        {
            "name": type_name.upper(),
            "freshness_number": 6,
            "freshness_datepart": "hour",
            "mute_timeliness_check": True,
        },
    )
    assert (row.freshness_number, row.freshness_datepart, row.mute_timeliness_check) == (
        6,
        "hour",
        True,
    )
    assert (await pipelines.get_pipeline_type(container.uow_factory(), row.id)).updated_at is not None
    changed = [e for e in await outbox_events(container, str(p.id)) if e["type"] == "pipeline.changed.v1"][-1]
    assert changed["slo"]["freshness_number"] == 6  # inherited: the pipeline has no setting of its own
    assert changed["slo"]["mute_timeliness_check"] is True
    taken = unique("taken")
    await pipelines.upsert_pipeline_type(container.uow_factory(), {"name": taken})
    with pytest.raises(Conflict):
        await pipelines.patch_pipeline_type(container.uow_factory(), {"id": row.id, "name": taken})
