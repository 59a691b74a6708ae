"""The gateway's lineage routes: Watcher addresses and address lineage, graph queries and OpenLineage ingestion.

Each is validated here and forwarded unchanged to execution-tracking, whose answer is relayed.
"""

from __future__ import annotations

import gzip
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

JSON = {"content-type": "application/json"}
RUN_EVENT: dict[str, Any] = {
    "eventType": "COMPLETE",
    "eventTime": "2024-01-01T10:05:00.123456+00:00",
    "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/airflow",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {
        "runId": "0192f4a8-7c00-7000-8000-000000000002",
        "facets": {
            "parent": {
                "run": {"runId": "0192f4a8-7c00-7000-8000-000000000001"},
                "job": {"namespace": "airflow", "name": "daily_sales"},
            }
        },
    },
    "job": {"namespace": "airflow", "name": "daily_sales.load_orders", "facets": {}},
    "inputs": [{"namespace": "postgres://db:5432", "name": "sales.public.orders", "facets": {}}],
    "outputs": [
        {
            "namespace": "s3://warehouse",
            "name": "orders/2024-01-01",
            "facets": {},
            "outputFacets": {"outputStatistics": {"rowCount": 1000}},
        }
    ],
}


def _event(**changes: Any) -> bytes:
    return msgspec.json.encode({**RUN_EVENT, **changes})


# -- Watcher: addresses, address types, address lineage ---------------------------------------------------------

ADDRESS = (
    b'{"name": "sales.dbo.orders", "address_type_name": "sqlserver", "address_type_group_name": "database"}'
)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/address", ADDRESS),
        (
            "/address",
            b'{"name": "s3://b/raw", "address_type_name": "s3", "address_type_group_name": "storage",'
            b' "database_name": null, "address_metadata": {"owner": "data"}, "unknown_field": 1}',
        ),
        ("/address_type", b'{"name": "sqlserver", "group_name": "database"}'),
        (
            "/address_lineage",
            b'{"pipeline_id": 1, "source_addresses": [' + ADDRESS + b'], "target_addresses": ['
            b'{"name": "dw.public.orders", "address_type_name": "postgres", "address_type_group_name": "database"}'
            b"]}",
        ),
        ("/address_lineage", b'{"pipeline_id": 1}'),
    ],
)
def test_valid_watcher_lineage_requests_are_forwarded_byte_for_byte(
    client: TestClient, execution_tracking: FakeUpstream, path: str, body: bytes
) -> None:
    execution_tracking.answer = UpstreamResponse(201, b'{"id":1}', "application/json")
    r = client.post(path, content=body, headers=JSON)
    assert r.status_code == 201
    assert r.json() == {"id": 1}
    (call,) = execution_tracking.calls
    assert (call.method, call.path, call.body) == ("POST", path, body)


def test_the_address_lineage_answer_is_relayed(client: TestClient, execution_tracking: FakeUpstream) -> None:
    answer = b'{"pipeline_id":1,"lineage_relationships_created":0,"message":"no lineage loaded"}'
    execution_tracking.answer = UpstreamResponse(200, answer, "application/json")
    r = client.post("/address_lineage", json={"pipeline_id": 1})
    assert r.status_code == 200
    assert r.content == answer


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/address", {"address_type_name": "sqlserver", "address_type_group_name": "database"}, "name"),
        ("/address", {"name": "", "address_type_name": "t", "address_type_group_name": "g"}, "name"),
        (
            "/address",
            {
                "name": "a",
                "address_type_name": "t",
                "address_type_group_name": "g",
                "database_name": "d" * 51,
            },
            "database_name",
        ),
        ("/address_type", {"group_name": "database"}, "name"),
        ("/address_type", {"name": "sqlserver"}, "group_name"),
        ("/address_lineage", {"source_addresses": []}, "pipeline_id"),
        ("/address_lineage", {"pipeline_id": 0}, "pipeline_id"),
        (
            "/address_lineage",
            {
                "pipeline_id": 1,
                "source_addresses": [{"address_type_name": "t", "address_type_group_name": "g"}],
            },
            "name",
        ),
        (
            "/address_lineage",
            {
                "pipeline_id": 1,
                "target_addresses": [
                    {
                        "name": "a",
                        "address_type_name": "t",
                        "address_type_group_name": "g",
                        "database_name": "d" * 51,
                    }
                ],
            },
            "database_name",
        ),
    ],
)
def test_invalid_watcher_lineage_bodies_get_422_and_are_not_forwarded(
    client: TestClient, execution_tracking: FakeUpstream, path: str, body: dict[str, Any], where: str
) -> None:
    assert_refused(client.post(path, json=body), execution_tracking, where)


def test_a_database_name_of_the_longest_allowed_length_is_forwarded(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    body = {"name": "a", "address_type_name": "t", "address_type_group_name": "g", "database_name": "d" * 50}
    assert client.post("/address", json=body).status_code == 200
    assert len(execution_tracking.calls) == 1


@pytest.mark.parametrize("path", ["/address", "/address/3", "/address_type", "/address_type/2"])
def test_address_reads_are_forwarded(client: TestClient, execution_tracking: FakeUpstream, path: str) -> None:
    execution_tracking.answer = UpstreamResponse(404, b'{"detail":"not found"}', "application/json")
    r = client.get(path)
    assert r.status_code == 404
    assert r.json() == {"detail": "not found"}
    (call,) = execution_tracking.calls
    assert (call.method, call.path, call.body) == ("GET", path, None)


# -- lineage graph queries --------------------------------------------------------------------------------------


def test_an_address_graph_query_is_forwarded_with_its_query_string(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    answer = b'{"direction":"upstream","depth":5,"address_id":1,"nodes":[],"edges":[],"truncated":false}'
    execution_tracking.answer = UpstreamResponse(200, answer, "application/json")
    r = client.get("/lineage/address/1?direction=upstream&depth=5")
    assert r.status_code == 200
    assert r.content == answer
    (call,) = execution_tracking.calls
    assert (call.method, call.path, call.query) == ("GET", "/lineage/address/1", "direction=upstream&depth=5")


def test_an_address_graph_query_without_parameters_is_forwarded(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    assert client.get("/lineage/address/1").status_code == 200
    (call,) = execution_tracking.calls
    assert (call.path, call.query) == ("/lineage/address/1", "")


@pytest.mark.parametrize(
    "query",
    [
        "direction=sideways",
        "direction=UPSTREAM",
        "depth=0",
        "depth=101",
        "depth=-1",
        "depth=many",
        "limit=0",
        "limit=100001",
    ],
)
def test_invalid_address_graph_queries_are_client_errors_and_not_forwarded(
    client: TestClient, execution_tracking: FakeUpstream, query: str
) -> None:
    r = client.get(f"/lineage/address/1?{query}")
    assert 400 <= r.status_code < 500, r.text
    assert execution_tracking.calls == []


@pytest.mark.parametrize("query", ["depth=0", "depth=100", "limit=1"])
def test_a_pipeline_graph_query_allows_depth_zero(
    client: TestClient, execution_tracking: FakeUpstream, query: str
) -> None:
    r = client.get(f"/lineage/pipeline/1?{query}")
    assert r.status_code == 200
    (call,) = execution_tracking.calls
    assert (call.path, call.query) == ("/lineage/pipeline/1", query)


@pytest.mark.parametrize("query", ["depth=-1", "depth=101", "direction=upstream&depth=x"])
def test_invalid_pipeline_graph_queries_are_client_errors_and_not_forwarded(
    client: TestClient, execution_tracking: FakeUpstream, query: str
) -> None:
    assert 400 <= client.get(f"/lineage/pipeline/1?{query}").status_code < 500
    assert execution_tracking.calls == []


@pytest.mark.parametrize("path", ["/lineage/address/abc", "/lineage/pipeline/abc"])
def test_non_integer_graph_ids_are_client_errors(
    client: TestClient, execution_tracking: FakeUpstream, path: str
) -> None:
    assert 400 <= client.get(path).status_code < 500
    assert execution_tracking.calls == []


# -- OpenLineage ------------------------------------------------------------------------------------------------


def test_a_valid_run_event_is_forwarded_and_201_relayed(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = UpstreamResponse(201, b"", "application/json")
    body = _event()
    r = client.post("/api/v1/lineage", content=body, headers=JSON)
    assert r.status_code == 201
    (call,) = execution_tracking.calls
    assert (call.method, call.path, call.body) == ("POST", "/api/v1/lineage", body)


def test_a_run_event_without_event_type_and_with_unknown_facets_is_forwarded(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    event = {k: v for k, v in RUN_EVENT.items() if k != "eventType"}
    event["job"] = {**RUN_EVENT["job"], "facets": {"sql": {"query": "select 1"}}}
    body = msgspec.json.encode({**event, "somethingNew": [1, 2]})
    execution_tracking.answer = UpstreamResponse(201, b"", "application/json")
    assert client.post("/api/v1/lineage", content=body, headers=JSON).status_code == 201
    assert execution_tracking.calls[0].body == body


def test_a_gzip_body_is_forwarded_decompressed(client: TestClient, execution_tracking: FakeUpstream) -> None:
    execution_tracking.answer = UpstreamResponse(201, b"", "application/json")
    body = _event()
    r = client.post(
        "/api/v1/lineage", content=gzip.compress(body), headers={**JSON, "content-encoding": "gzip"}
    )
    assert r.status_code == 201
    (call,) = execution_tracking.calls
    assert call.body == body


def test_execution_tracking_refusing_an_event_is_relayed(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = UpstreamResponse(
        400, b'{"detail":"job `namespace/name` too long"}', "application/json"
    )
    r = client.post("/api/v1/lineage", content=_event(), headers=JSON)
    assert r.status_code == 400
    assert r.json() == {"detail": "job `namespace/name` too long"}


JOB_EVENT = msgspec.json.encode(
    {
        "eventTime": "2024-01-01T10:00:00+00:00",
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow", "name": "daily_sales"},
        "inputs": [],
        "outputs": [],
    }
)
DATASET_EVENT = msgspec.json.encode(
    {
        "eventTime": "2024-01-01T10:00:00+00:00",
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "postgres://db:5432", "name": "sales.public.orders"},
    }
)


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b'{"eventTime": ', JSON, "invalid OpenLineage RunEvent"),
        (b"not json at all", JSON, "invalid OpenLineage RunEvent"),
        (b"", JSON, "invalid OpenLineage RunEvent"),
        (JOB_EVENT, JSON, "only OpenLineage RunEvents"),
        (DATASET_EVENT, JSON, "only OpenLineage RunEvents"),
        (_event(run={"runId": "airflow-run-42"}), JSON, "$.run.runId"),
        (_event(eventType="FINISHED"), JSON, "$.eventType"),
        (
            _event(
                outputs=[
                    {
                        "namespace": "s3://b",
                        "name": "o",
                        "outputFacets": {"outputStatistics": {"rowCount": -1}},
                    }
                ]
            ),
            JSON,
            "rowCount",
        ),
        (b"\x1f\x8b\x08\x00broken", {**JSON, "content-encoding": "gzip"}, "not valid gzip"),
        (_event(), {**JSON, "content-encoding": "gzip"}, "not valid gzip"),
        (gzip.compress(_event())[:-8], {**JSON, "content-encoding": "gzip"}, "not valid gzip"),
        (gzip.compress(JOB_EVENT), {**JSON, "content-encoding": "gzip"}, "only OpenLineage RunEvents"),
        (_event(producer="a\u0000b"), JSON, "producer"),
        (_event().replace(b"daily_sales.load_orders", b"daily_sales.\xed\xb2\xbf"), JSON, "not valid UTF-8"),
    ],
    ids=[
        "truncated json",
        "not json",
        "empty",
        "JobEvent",
        "DatasetEvent",
        "bad run id",
        "bad event type",
        "negative row count",
        "broken gzip",
        "plain body said to be gzip",
        "truncated gzip",
        "gzip JobEvent",
        "NUL in the producer",
        "not UTF-8",
    ],
)
def test_invalid_run_events_are_400_with_the_reason_and_not_forwarded(
    client: TestClient, execution_tracking: FakeUpstream, body: bytes, headers: dict[str, str], reason: str
) -> None:
    r = client.post("/api/v1/lineage", content=body, headers=headers)
    assert r.status_code == 400
    assert reason in r.json()["detail"]
    assert execution_tracking.calls == []
