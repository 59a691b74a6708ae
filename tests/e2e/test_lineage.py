"""Lineage end to end: the Watcher address lineage over HTTP, and the real openlineage-python client pointed
at the gateway (HTTP transport) and at the broker (Kafka transport), seen only through the gateway and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import job_type_job, output_statistics_output_dataset, parent_run
from openlineage.client.generated.base import RunFacet
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from headwater.common.testing import TopicCollector, produce
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

T0 = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)


def address(name: str, type_name: str = "postgres", group: str = "database") -> dict[str, str]:
    return {"name": name, "address_type_name": type_name, "address_type_group_name": group}


async def test_watcher_address_lineage_and_the_graph_over_http(
    gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    tag = uuid.uuid4().hex[:8]
    raw, staged, mart, orphan = (f"db_{tag}.{layer}.orders" for layer in ("raw", "staged", "mart", "old"))
    ids = []
    for step in ("ingest", "transform"):
        r = await gateway.post("/pipeline", json={"name": f"{step} {tag}", "pipeline_type_name": "etl"})
        ids.append(r.json()["id"])
    ingest, transform = ids
    r = await gateway.post(
        "/address_lineage",
        json={
            "pipeline_id": ingest,
            "source_addresses": [address(raw)],
            "target_addresses": [address(orphan)],
        },
    )
    assert r.status_code == 201
    r = await gateway.post(
        "/address_lineage",
        json={
            "pipeline_id": ingest,
            "source_addresses": [address(raw)],
            "target_addresses": [address(staged)],
        },
    )
    assert r.json() == {
        "pipeline_id": ingest,
        "lineage_relationships_created": 1,
        "message": f"Lineage relationships created for pipeline {ingest}",
    }
    r = await gateway.post(
        "/address_lineage",
        json={
            "pipeline_id": transform,
            "source_addresses": [address(staged)],
            "target_addresses": [address(mart)],
        },
    )
    assert r.status_code == 201

    listed = {a["name"]: a for a in (await gateway.get("/address")).json()}
    assert (listed[raw]["database_name"], listed[raw]["schema_name"], listed[raw]["table_name"]) == (
        f"db_{tag}",
        "raw",
        "orders",
    )
    graph = (
        await gateway.get(f"/lineage/address/{listed[mart]['id']}", params={"direction": "upstream"})
    ).json()
    assert {n["name"]: n["depth"] for n in graph["nodes"]} == {
        mart: 0,
        staged: 1,
        raw: 2,
    }  # not the old target
    assert {
        (e["source_address_id"], e["target_address_id"]): [p["name"] for p in e["pipelines"]]
        for e in graph["edges"]
    } == {
        (listed[raw]["id"], listed[staged]["id"]): [f"ingest {tag}"],
        (listed[staged]["id"], listed[mart]["id"]): [f"transform {tag}"],
    }
    assert graph["nodes"][0]["address_type"] == {
        "id": listed[mart]["address_type_id"],
        "name": "postgres",
        "group_name": "database",
    }
    own = (await gateway.get(f"/lineage/pipeline/{transform}", params={"depth": 0})).json()
    assert {n["name"] for n in own["nodes"]} == {staged, mart}

    changes = await events.wait_for(
        lambda m: m.topic == "lineage.changed" and m.json()["pipeline_id"] == ingest, count=2
    )
    assert [len(c.json()["removed"]) for c in changes] == [0, 1]  # the old target's edge went

    # a successful run stops lineage reloads, as in the reference: the next declaration changes nothing
    start = await gateway.post("/start_pipeline_execution", json={"pipeline_id": transform})
    end = await gateway.post(
        "/end_pipeline_execution",
        json={
            "id": start.json()["id"],
            "end_date": datetime.now(UTC).isoformat(),
            "completed_successfully": True,
        },
    )
    assert end.status_code == 204
    r = await gateway.post(
        "/address_lineage",
        json={
            "pipeline_id": transform,
            "source_addresses": [address(raw)],
            "target_addresses": [address(mart)],
        },
    )
    assert (r.status_code, r.json()["lineage_relationships_created"]) == (200, 0)
    missing = await gateway.get("/lineage/address/999999999")
    assert missing.status_code == 404


def run_events(namespace: str, tag: str, run_id: str, parent_id: str) -> list[RunEvent]:
    """What the Airflow integration emits for one task run inside a DAG run, as the client builds it."""
    job = Job(
        namespace=namespace,
        name=f"dag_{tag}.load",
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="AIRFLOW", jobType="TASK"
            )
        },
    )
    parent: dict[str, RunFacet] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_id), job=parent_run.Job(namespace=namespace, name=f"dag_{tag}")
        )
    }
    source = InputDataset(namespace="postgres://shop:5432", name=f"shop.public.orders_{tag}")
    stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=1200, size=4096)
    target = OutputDataset(
        namespace="s3://lake", name=f"orders/{tag}", outputFacets={"outputStatistics": stats}
    )
    producer = "https://github.com/apache/airflow/tree/providers-openlineage/2.0.0"

    def at(seconds: int) -> str:
        return (T0 + timedelta(seconds=seconds)).isoformat()

    return [
        RunEvent(
            eventType=RunState.START,
            eventTime=at(0),
            run=Run(runId=parent_id),
            job=Job(namespace=namespace, name=f"dag_{tag}"),
            producer=producer,
        ),
        RunEvent(
            eventType=RunState.START,
            eventTime=at(5),
            run=Run(runId=run_id, facets=parent),
            job=job,
            inputs=[source],
            producer=producer,
        ),
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=at(65),
            run=Run(runId=run_id, facets=parent),
            job=job,
            inputs=[source],
            outputs=[target],
            producer=producer,
        ),
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=at(70),
            run=Run(runId=parent_id),
            job=Job(namespace=namespace, name=f"dag_{tag}"),
            producer=producer,
        ),
    ]


async def check_recorded(
    gateway: httpx.AsyncClient, events: TopicCollector, namespace: str, tag: str, run_id: str, parent_id: str
) -> None:
    # events that arrive out of order may end a run more than once on the way; the last end is the outcome
    ended = await events.wait_for(
        lambda m: (
            m.topic == "execution.ended"
            and m.json()["run_id"] == run_id
            and m.json()["duration_seconds"] == 60
        )
    )
    e = ended[-1].json()
    assert (e["completed_successfully"], e["duration_seconds"], e["total_rows"], e["throughput"]) == (
        True,
        60,
        1200,
        20.0,
    )
    assert e["pipeline_name"] == f"{namespace}/dag_{tag}.load"
    parent_ended = await events.wait_for(
        lambda m: (
            m.topic == "execution.ended"
            and m.json()["run_id"] == parent_id
            and m.json()["start_date"] == "2024-07-01T06:00:00Z"
        )
    )
    tree = (await gateway.get(f"/pipeline_execution/{parent_ended[-1].json()['execution_id']}")).json()
    assert [c["id"] for c in tree["child_executions"]] == [e["execution_id"]]
    assert tree["start_date"] == "2024-07-01T06:00:00Z"
    pipeline = (await gateway.get(f"/pipeline/{e['pipeline_id']}")).json()
    types = {t["id"]: t["name"] for t in (await gateway.get("/pipeline_type")).json()}
    assert types[pipeline["pipeline_type_id"]] == "airflow"
    graph = (await gateway.get(f"/lineage/pipeline/{e['pipeline_id']}", params={"depth": 0})).json()
    names = {n["id"]: n["name"] for n in graph["nodes"]}
    assert [(names[x["source_address_id"]], names[x["target_address_id"]]) for x in graph["edges"]] == [
        (f"postgres://shop:5432/shop.public.orders_{tag}", f"s3://lake/orders/{tag}")
    ]
    changes = await events.wait_for(
        lambda m: m.topic == "lineage.changed" and m.json()["pipeline_id"] == e["pipeline_id"]
    )
    assert {c.json()["origin"] for c in changes} == {"openlineage"}


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP])
async def test_openlineage_http_transport_pointed_at_the_gateway(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector, compression: HttpCompression | None
) -> None:
    tag, run_id, parent_id = uuid.uuid4().hex[:8], str(uuid.uuid4()), str(uuid.uuid4())
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(
                url=system.gateway_url,
                compression=compression,
                timeout=30,
                auth=ApiKeyTokenProvider({"apiKey": system.bootstrap_token}),
            )
        )
    )
    for e in run_events("airflow-http", tag, run_id, parent_id):
        await asyncio.to_thread(client.emit, e)
    await check_recorded(gateway, events, "airflow-http", tag, run_id, parent_id)
    for e in run_events("airflow-http", tag, run_id, parent_id):  # sent again: nothing changes
        await asyncio.to_thread(client.emit, e)
    # A later run of the same job: its events share the pipeline's key, so once its end is on the topic, any end
    # the re-sent events had caused would be there before it.
    later_run = str(uuid.uuid4())
    for e in run_events("airflow-http", tag, later_run, str(uuid.uuid4())):
        await asyncio.to_thread(client.emit, e)
    await events.wait_for(lambda m: m.topic == "execution.ended" and m.json()["run_id"] == later_run)
    assert (
        len([m for m in events.messages if m.topic == "execution.ended" and m.json()["run_id"] == run_id])
        == 1
    )

    bad = await gateway.post(
        "/api/v1/lineage", json={"eventType": "START", "eventTime": "2024-01-01T00:00:00Z"}
    )
    assert bad.status_code == 400
    assert "run" in bad.json()["detail"]
    not_uuid: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-01-01T00:00:00Z",
        "run": {"runId": "42"},
        "job": {"namespace": "n", "name": "j"},
    }
    assert (await gateway.post("/api/v1/lineage", json=not_uuid)).status_code == 400


async def test_openlineage_kafka_transport_pointed_at_the_broker(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    tag, run_id, parent_id = uuid.uuid4().hex[:8], str(uuid.uuid4()), str(uuid.uuid4())
    transport = KafkaTransport(
        KafkaConfig(
            config={"bootstrap.servers": system.kafka_bootstrap, "acks": "all"},
            topic="ingress.lineage",
            flush=True,
        )
    )
    client = OpenLineageClient(transport=transport)
    emitted = run_events("airflow-kafka", tag, run_id, parent_id)
    try:
        for e in [*emitted[::-1], *emitted]:  # out of order, and twice
            await asyncio.to_thread(client.emit, e)
    finally:
        transport.close(timeout=10)
    await check_recorded(gateway, events, "airflow-kafka", tag, run_id, parent_id)

    dlq = await TopicCollector(system.kafka_bootstrap, ["ingress.lineage.dlq"]).start()
    try:
        marker = uuid.uuid4().hex
        await produce(
            system.kafka_bootstrap,
            "ingress.lineage",
            [
                (b"bad-json", b"{not json " + marker.encode()),
                (
                    b"job-event",
                    f'{{"eventTime":"2024-01-01T00:00:00Z","job":{{"namespace":"n","name":"{marker}"}}}}'.encode(),
                ),
            ],
        )
        dead = await dlq.wait_for(lambda m: marker.encode() in m.value, count=2)
        reasons = {m.key: m.headers["x-dlq-reason"].decode() for m in dead}
        assert "only OpenLineage RunEvents" in reasons[b"job-event"]
        assert all(m.headers["x-dlq-original-topic"] == b"ingress.lineage" for m in dead)
    finally:
        await dlq.stop()


async def test_concurrent_events_of_sibling_tasks_over_http(
    gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    """Twenty tasks of one DAG run report at once, each naming the parent run (not seen yet) and a shared
    input table: every event is stored, the parent is created once and lists every task."""
    tag, parent_id = uuid.uuid4().hex[:8], str(uuid.uuid4())
    task_runs = [str(uuid.uuid4()) for _ in range(20)]

    def event(n: int, run_id: str) -> dict[str, Any]:
        return {
            "eventType": "COMPLETE",
            "eventTime": f"2024-07-02T06:00:{n:02d}Z",
            "run": {
                "runId": run_id,
                "facets": {
                    "parent": {"run": {"runId": parent_id}, "job": {"namespace": "fan", "name": f"dag_{tag}"}}
                },
            },
            "job": {"namespace": "fan", "name": f"dag_{tag}.task_{n}"},
            "inputs": [{"namespace": "postgres://shop:5432", "name": f"shop.public.shared_{tag}"}],
            "outputs": [{"namespace": "s3://lake", "name": f"fan/{tag}/{n}"}],
            "producer": "test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }

    answers = await asyncio.gather(
        *(gateway.post("/api/v1/lineage", json=event(n, run)) for n, run in enumerate(task_runs))
    )
    assert [a.status_code for a in answers] == [201] * 20
    started = await events.wait_for(
        lambda m: m.topic == "execution.started" and m.json()["run_id"] == parent_id
    )
    # The children's events are keyed by their own pipelines, so they may arrive after the parent's: wait for all.
    children = await events.wait_for(
        lambda m: m.topic == "execution.started" and m.json()["run_id"] in task_runs, count=20
    )
    tree = (await gateway.get(f"/pipeline_execution/{started[0].json()['execution_id']}")).json()
    assert sorted(c["id"] for c in tree["child_executions"]) == sorted(
        {m.json()["execution_id"] for m in children}
    )
    assert len(tree["child_executions"]) == 20
    assert tree["start_date"] == "2024-07-02T06:00:00Z"  # the earliest of its tasks' events
    shared = next(a for a in (await gateway.get("/address")).json() if a["name"].endswith(f"shared_{tag}"))
    downstream = (
        await gateway.get(f"/lineage/address/{shared['id']}", params={"direction": "downstream"})
    ).json()
    assert len(downstream["edges"]) == 20
