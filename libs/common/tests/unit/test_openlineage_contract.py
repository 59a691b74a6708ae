"""The OpenLineage RunEvent contract: what the official Python client (1.54) sends decodes; the rest is refused.

Events are built with `openlineage-python` and serialised by its `Serde`, exactly as its HTTP and Kafka
transports put them on the wire, so a client change that breaks decoding shows up here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from openlineage.client import event_v2 as ol
from openlineage.client.facet_v2 import (
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

from headwater.common.contracts.openlineage import (
    EventType,
    InputDataset,
    JobType,
    OutputStatistics,
    decode_run_event,
)

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/airflow"
RUN_ID = "0192f4a8-7c00-7000-8000-000000000002"
PARENT_RUN_ID = "0192f4a8-7c00-7000-8000-000000000001"


def _client_event(event_type: ol.RunState | None = ol.RunState.COMPLETE) -> ol.RunEvent:
    return ol.RunEvent(
        eventType=event_type,
        eventTime="2024-01-01T10:05:00.123456+00:00",
        producer=PRODUCER,
        run=ol.Run(
            runId=RUN_ID,
            facets={
                "parent": parent_run.ParentRunFacet(
                    run=parent_run.Run(runId=PARENT_RUN_ID),
                    job=parent_run.Job(namespace="airflow", name="daily_sales"),
                    root=parent_run.Root(
                        run=parent_run.RootRun(runId=PARENT_RUN_ID),
                        job=parent_run.RootJob(namespace="airflow", name="daily_sales"),
                    ),
                )
            },
        ),
        job=ol.Job(
            namespace="airflow",
            name="daily_sales.load_orders",
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="AIRFLOW", jobType="TASK"
                ),
                "sql": sql_job.SQLJobFacet(query="INSERT INTO orders SELECT * FROM staging.orders"),
            },
        ),
        inputs=[
            ol.InputDataset(
                namespace="postgres://db:5432",
                name="sales.public.orders",
                facets={
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="integer")]
                    )
                },
            )
        ],
        outputs=[
            ol.OutputDataset(
                namespace="s3://warehouse",
                name="orders/2024-01-01",
                outputFacets={
                    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rowCount=1000, size=52_000, fileCount=3
                    )
                },
            )
        ],
    )


def _wire(event: ol.RunEvent | ol.JobEvent | ol.DatasetEvent) -> bytes:
    return Serde.to_json(event).encode()


def _valid() -> dict[str, Any]:
    return msgspec.json.decode(_wire(_client_event()))


def test_a_client_run_event_decodes_with_the_fields_headwater_reads() -> None:
    event = decode_run_event(_wire(_client_event()))

    assert event.eventType is EventType.COMPLETE
    assert event.eventTime == datetime(2024, 1, 1, 10, 5, 0, 123456, tzinfo=UTC)
    assert event.producer == PRODUCER
    assert event.schemaURL.endswith("OpenLineage.json#/$defs/RunEvent")
    assert event.run.runId == uuid.UUID(RUN_ID)
    assert event.run.facets is not None
    assert event.run.facets.parent is not None
    assert event.run.facets.parent.run.runId == uuid.UUID(PARENT_RUN_ID)
    assert (event.run.facets.parent.job.namespace, event.run.facets.parent.job.name) == (
        "airflow",
        "daily_sales",
    )
    assert (event.job.namespace, event.job.name) == ("airflow", "daily_sales.load_orders")
    assert event.job.facets is not None
    assert event.job.facets.jobType == JobType(integration="AIRFLOW", processingType="BATCH", jobType="TASK")
    assert [(i.namespace, i.name) for i in event.inputs] == [("postgres://db:5432", "sales.public.orders")]
    assert isinstance(event.inputs[0], InputDataset)
    (output,) = event.outputs
    assert (output.namespace, output.name) == ("s3://warehouse", "orders/2024-01-01")
    assert output.outputFacets is not None
    assert output.outputFacets.outputStatistics == OutputStatistics(rowCount=1000, size=52_000)


def test_a_minimal_run_event_decodes_with_defaults() -> None:
    event = decode_run_event(
        b'{"eventTime": "2024-01-01T10:00:00Z", "eventType": "START",'
        b' "run": {"runId": "0192f4a8-7c00-7000-8000-000000000002"},'
        b' "job": {"namespace": "airflow", "name": "daily_sales"}}'
    )
    assert event.eventType is EventType.START
    assert event.run.facets is None
    assert event.job.facets is None
    assert (event.inputs, event.outputs, event.producer, event.schemaURL) == ([], [], "", "")


def test_a_missing_event_type_counts_as_other() -> None:
    wire = _wire(_client_event(event_type=None))
    assert b"eventType" not in wire  # the client leaves the field out
    assert decode_run_event(wire).eventType is EventType.OTHER


@pytest.mark.parametrize(
    "event",
    [
        ol.JobEvent(
            eventTime="2024-01-01T10:00:00+00:00",
            producer=PRODUCER,
            job=ol.Job(namespace="airflow", name="daily_sales"),
            inputs=[ol.InputDataset(namespace="postgres://db:5432", name="sales.public.orders")],
        ),
        ol.DatasetEvent(
            eventTime="2024-01-01T10:00:00+00:00",
            producer=PRODUCER,
            dataset=ol.StaticDataset(namespace="postgres://db:5432", name="sales.public.orders"),
        ),
    ],
    ids=["JobEvent", "DatasetEvent"],
)
def test_job_and_dataset_events_are_refused_as_not_run_events(event: ol.JobEvent | ol.DatasetEvent) -> None:
    with pytest.raises(msgspec.ValidationError, match="only OpenLineage RunEvents"):
        decode_run_event(_wire(event))


def _with(path: tuple[str | int, ...], value: Any) -> bytes:
    body = _valid()
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return msgspec.json.encode(body)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (_with(("run", "runId"), "airflow-run-42"), "$.run.runId"),
        (_with(("run", "facets", "parent", "run", "runId"), "not-a-uuid"), "$.run.facets.parent.run.runId"),
        (_with(("eventType",), "FINISHED"), "$.eventType"),
        (_with(("eventType",), "complete"), "$.eventType"),
        (_with(("outputs", 0, "outputFacets", "outputStatistics", "rowCount"), -1), "rowCount"),
        (_with(("outputs", 0, "outputFacets", "outputStatistics", "size"), -1), "size"),
        (_with(("job", "name"), ""), "$.job.name"),
        (_with(("eventTime",), "yesterday"), "$.eventTime"),
    ],
    ids=[
        "run id",
        "parent run id",
        "event type",
        "lower-case event type",
        "row count",
        "size",
        "empty job name",
        "event time",
    ],
)
def test_invalid_run_events_are_refused_with_where(payload: bytes, where: str) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        decode_run_event(payload)
    assert where in str(info.value)
    assert "only OpenLineage RunEvents" not in str(info.value)


def test_malformed_json_is_a_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_run_event(b'{"eventTime": ')


def test_bytes_that_are_not_utf8_are_a_decode_error() -> None:
    """msgspec raises UnicodeDecodeError for them, which a Kafka batch would not dead-letter."""
    with pytest.raises(msgspec.DecodeError, match="not valid UTF-8"):
        decode_run_event(b'{"eventTime": "2024-01-01T00:00:00Z", "producer": "\xed\xb2\xbf"}')


def test_unknown_fields_and_facets_are_ignored() -> None:
    body = _valid()
    body["futureField"] = {"anything": [1, 2, 3]}
    body["run"]["facets"]["nominalTime"] = {"nominalStartTime": "2024-01-01T00:00:00Z"}
    body["run"]["facets"]["parent"]["root"]["extra"] = True
    body["run"]["somethingNew"] = 1
    body["job"]["facets"]["ownership"] = {"owners": [{"name": "team:data"}]}
    body["job"]["facets"]["jobType"]["emissionPattern"] = "SOMETHING_NEW"
    body["inputs"][0]["inputFacets"] = {"dataQualityMetrics": {"rowCount": 10}}
    body["outputs"][0]["outputFacets"]["icebergCommitReport"] = {"totalRecordsCount": 5}
    body["outputs"][0]["outputFacets"]["outputStatistics"]["newCounter"] = 7
    body["outputs"][0]["facets"] = {"columnLineage": {"fields": {}}, "symlinks": {"identifiers": []}}

    event = decode_run_event(msgspec.json.encode(body))

    plain = decode_run_event(_wire(_client_event()))
    assert (event.eventType, event.eventTime, event.run, event.job) == (
        plain.eventType,
        plain.eventTime,
        plain.run,
        plain.job,
    )
    assert [(i.namespace, i.name) for i in event.inputs] == [(i.namespace, i.name) for i in plain.inputs]
    assert [(o.namespace, o.name, o.outputFacets) for o in event.outputs] == [
        (o.namespace, o.name, o.outputFacets) for o in plain.outputs
    ]
    # dataset facets are free-form: kept as sent, never validated
    assert event.outputs[0].facets == {"columnLineage": {"fields": {}}, "symlinks": {"identifiers": []}}
