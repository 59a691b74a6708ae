"""OpenLineage RunEvents against the real Postgres: the mapping onto pipelines, runs and lineage, and the same
result whatever order the events come in and however often."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from headwater.common.contracts.openlineage import RunEvent, decode_run_event
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.service_layer import lineage_graph, openlineage

pytestmark = pytest.mark.integration

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
PG = "postgres://warehouse:5432"


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def event(
    kind: str,
    seconds: float,
    run_id: str,
    job: str,
    *,
    namespace: str = "airflow",
    parent: tuple[str, str] | None = None,
    inputs: list[tuple[str, str]] = (),  # type: ignore[assignment]
    outputs: list[tuple[str, str, int | None]] = (),  # type: ignore[assignment]
    integration: str | None = None,
) -> RunEvent:
    run: dict[str, Any] = {"runId": run_id, "facets": {}}
    if parent is not None:
        run["facets"]["parent"] = {
            "_producer": "test",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json",
            "run": {"runId": parent[0]},
            "job": {"namespace": namespace, "name": parent[1]},
        }
    job_facets = {}
    if integration:
        job_facets["jobType"] = {"integration": integration, "jobType": "TASK", "processingType": "BATCH"}
    body = {
        "eventType": kind,
        "eventTime": at(seconds),
        "run": run,
        "job": {"namespace": namespace, "name": job, "facets": job_facets},
        "inputs": [{"namespace": ns, "name": name, "facets": {}} for ns, name in inputs],
        "outputs": [
            {
                "namespace": ns,
                "name": name,
                "facets": {},
                "outputFacets": {} if rows is None else {"outputStatistics": {"rowCount": rows, "size": 1}},
            }
            for ns, name, rows in outputs
        ],
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/airflow",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    return decode_run_event(msgspec.json.encode(body))


def scenario(tag: str) -> tuple[list[RunEvent], dict[str, str]]:
    """A DAG run with one task run, and an older run of the same task that read and wrote other tables."""
    ids = {k: str(uuid.uuid4()) for k in ("dag", "task", "old")}
    dag, task = f"{tag}_dag", f"{tag}_dag.load"
    src, out = (PG, f"shop.public.orders_{tag}"), ("s3://lake", f"orders/{tag}")
    old_in, old_out = (PG, f"shop.public.legacy_{tag}"), ("s3://lake", f"legacy/{tag}")
    parent = (ids["dag"], dag)
    events = [
        event("START", -3600, ids["old"], task, inputs=[old_in], integration="AIRFLOW"),
        event("COMPLETE", -3500, ids["old"], task, outputs=[(*old_out, 7)], integration="AIRFLOW"),
        event("START", 0, ids["dag"], dag, integration="AIRFLOW"),
        event("START", 10, ids["task"], task, parent=parent, inputs=[src], integration="AIRFLOW"),
        event("RUNNING", 20, ids["task"], task, parent=parent, inputs=[src], outputs=[(*out, 50)]),
        event("COMPLETE", 70, ids["task"], task, parent=parent, outputs=[(*out, 100)], integration="AIRFLOW"),
        event("COMPLETE", 80, ids["dag"], dag, integration="AIRFLOW"),
    ]
    return events, {**ids, "dag_job": dag, "task_job": task, "tag": tag}


async def outcome(c: Container, names: dict[str, str]) -> dict[str, Any]:
    """What the events left behind, with the scenario's tag taken out of every name so runs can be compared."""
    tag = names["tag"]
    async with c.uow_factory() as uow:
        runs = {k: await uow.executions.run_state(names[k]) for k in ("dag", "task", "old")}
        task_pipeline = await uow.pipelines.locked(None, f"airflow/{names['task_job']}")
        dag_pipeline = await uow.pipelines.locked(None, f"airflow/{names['dag_job']}")
        assert task_pipeline is not None
        assert dag_pipeline is not None
        types = {
            r.id: r.name
            for r in await uow.pipeline_types.list(100_000, 0)
            if r.id in {task_pipeline.pipeline_type_id, dag_pipeline.pipeline_type_id}
        }
        dag_run = runs["dag"]
        assert dag_run is not None
        children = await uow.executions.tree(dag_run.id)
    graph = await lineage_graph.pipeline_lineage(c.graph, task_pipeline.id, depth=0, limit=100)
    by_id = {n.id: n.name.replace(tag, "*") for n in graph.nodes}

    def run(row: Any) -> dict[str, Any]:
        keep = (
            "start_date",
            "end_date",
            "completed_successfully",
            "total_rows",
            "duration_seconds",
            "throughput",
        )
        return {k: getattr(row, k) for k in keep} | {"hour": row.hour_recorded}

    return {
        "dag": run(runs["dag"]),
        "task": run(runs["task"]),
        "old": run(runs["old"]),
        "task_parent_is_dag": runs["task"] is not None and runs["task"].parent_id == dag_run.id,
        "dag_children": sorted(r.run_id == names["task"] for r in children),
        "types": (types[dag_pipeline.pipeline_type_id], types[task_pipeline.pipeline_type_id]),
        "edges": sorted((by_id[e.source_address_id], by_id[e.target_address_id]) for e in graph.edges),
    }


async def record_all(c: Container, events: list[RunEvent]) -> None:
    for e in events:
        await openlineage.record_run_event(c.uow_factory(), e)


async def test_a_dag_run_with_a_task_becomes_pipelines_runs_and_lineage(container: Container) -> None:
    events, names = scenario(f"inorder{uuid.uuid4().hex[:6]}")
    await record_all(container, events)
    result = await outcome(container, names)
    assert result["dag"] == {
        "start_date": T0,
        "end_date": T0 + timedelta(seconds=80),
        "completed_successfully": True,
        "total_rows": None,
        "duration_seconds": 80,
        "throughput": None,
        "hour": 8,
    }
    assert result["task"] == {
        "start_date": T0 + timedelta(seconds=10),
        "end_date": T0 + timedelta(seconds=70),
        "completed_successfully": True,
        "total_rows": 100,  # the largest row count any event reported
        "duration_seconds": 60,
        "throughput": 1.6667,
        "hour": 8,
    }
    assert result["task_parent_is_dag"]
    assert result["dag_children"] == [False, True]  # the dag's own row and its task
    assert result["types"] == ("airflow", "airflow")
    # the latest run's inputs x outputs, not the older run's
    assert result["edges"] == [(f"{PG}/shop.public.orders_*", "s3://lake/orders/*")]


@pytest.mark.parametrize("seed", range(8))
async def test_any_order_and_any_repetition_give_the_same_result(container: Container, seed: int) -> None:
    reference_events, reference_names = scenario(f"ref{uuid.uuid4().hex[:6]}")
    await record_all(container, reference_events)
    expected = await outcome(container, reference_names)

    events, names = scenario(f"perm{uuid.uuid4().hex[:6]}")
    rng = random.Random(seed)
    shuffled = events[::-1] if seed == 0 else rng.sample(events, len(events))
    if seed % 2:  # every event sent twice, the copies shuffled in too
        shuffled = rng.sample(shuffled * 2, len(shuffled) * 2)
    await record_all(container, shuffled)
    assert await outcome(container, names) == expected


async def test_fail_and_abort_are_failures_and_a_failure_wins_a_tie(container: Container) -> None:
    job = f"job_{uuid.uuid4().hex[:8]}"
    failed, aborted, tied = (str(uuid.uuid4()) for _ in range(3))
    await record_all(
        container,
        [
            event("START", 0, failed, job),
            event("FAIL", 30, failed, job),
            event("ABORT", 40, aborted, job),
            event("COMPLETE", 50, tied, job),
            event("FAIL", 50, tied, job),
            event("COMPLETE", 50, tied, job),
        ],
    )
    async with container.uow_factory() as uow:
        rows = [await uow.executions.run_state(r) for r in (failed, aborted, tied)]
    assert [r is not None and r.completed_successfully for r in rows] == [False, False, False]
    assert rows[0] is not None
    assert rows[0].duration_seconds == 30


async def test_a_later_terminal_event_wins_and_an_earlier_one_changes_nothing(container: Container) -> None:
    job, run = f"job_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    await record_all(container, [event("START", 0, run, job), event("FAIL", 100, run, job)])
    await record_all(container, [event("COMPLETE", 50, run, job)])  # older than the failure: ignored
    async with container.uow_factory() as uow:
        row = await uow.executions.run_state(run)
    assert row is not None
    assert (row.completed_successfully, row.end_date) == (False, T0 + timedelta(seconds=100))


async def test_a_batch_keeps_good_events_and_rejects_the_bad_ones(container: Container) -> None:
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    job = f"job_{uuid.uuid4().hex[:8]}"
    rejected = await openlineage.record_run_events(
        container.uow_factory(),
        [
            event("START", 0, good, job, inputs=[(PG, "a.b.c")], outputs=[(PG, "a.b.d", 3)]),
            event("START", 0, bad, "x" * 600),  # namespace/name longer than a pipeline name can be
            event("COMPLETE", 5, good, job),
        ],
    )
    assert [(r.index, "at most 500" in r.reason) for r in rejected] == [(1, True)]
    async with container.uow_factory() as uow:
        row = await uow.executions.run_state(good)
        assert await uow.executions.run_state(bad) is None
    assert row is not None
    assert row.completed_successfully is True
    assert row.total_rows == 3


async def test_dataset_addresses_carry_their_type_group_and_parts(container: Container) -> None:
    job, run = f"job_{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    table = f"Sales.Public.Orders_{uuid.uuid4().hex[:6]}"
    await record_all(
        container,
        [
            event(
                "COMPLETE",
                0,
                run,
                job,
                inputs=[(PG, table)],
                outputs=[("kafka://broker:9092", f"topic-{run}", None)],
            )
        ],
    )
    async with container.uow_factory() as uow:
        pipeline = await uow.pipelines.locked(None, f"airflow/{job}")
    assert pipeline is not None
    assert pipeline.pipeline_metadata == {"openlineage": {"namespace": "airflow", "name": job}}
    graph = await lineage_graph.pipeline_lineage(container.graph, pipeline.id, depth=0, limit=10)
    nodes = {n.name: n for n in graph.nodes}
    source = nodes[f"{PG}/{table}"]  # names keep their case
    assert (source.address_type.name, source.address_type.group_name) == ("postgres", "database")
    assert (source.database_name, source.schema_name, source.table_name) == tuple(table.split("."))
    sink = nodes[f"kafka://broker:9092/topic-{run}"]
    assert (sink.address_type.name, sink.address_type.group_name, sink.table_name) == (
        "kafka",
        "stream",
        None,
    )
