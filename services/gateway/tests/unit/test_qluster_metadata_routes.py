"""The gateway's Qluster metadata routes (datasets, destinations, data sources, validation info):
validated here, forwarded to the ingestion service under the same path with the caller's principal."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import EDITOR, FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

DATASET = {"name": "orders", "schema_name": "sales", "database_name": "warehouse", "table_name": "orders"}


def test_every_metadata_route_goes_to_ingestion(
    client: TestClient[Any], ingestion: FakeUpstream, quality_alerting: FakeUpstream
) -> None:
    client.get("/datasets", params={"limit": 5, "states": ["active", "deleted"], "destination_id": 3})
    client.post("/datasets", json=DATASET)
    client.patch("/datasets", json={"id": 1, "version_id": 0, "name": "x"})
    client.get("/datasets/new")
    client.get("/datasets/1")
    client.get("/datasets/1/history")
    client.get("/datasets/1/stats")
    client.get("/datasets/1/copy")
    client.post("/datasets/1/copy", json=DATASET)
    client.get("/datasets/1/extra-details")
    client.get("/datasets/1/any-training-job-running")
    client.request("DELETE", "/datasets/1", json={"name": "orders"})
    client.get("/datasets/1/validation_info/score")
    client.post(
        "/datasets/1/validation_info/score", json={"json_schema_field_type": "number", "maximum": 200}
    )
    client.get("/destinations", params={"end": 9})
    client.post("/destinations", json={"destination_type": "postgresql", "database_name": "warehouse"})
    client.patch("/destinations", json={"id": 2, "password": "********"})
    client.get("/destinations/new")
    client.get("/destinations/2")
    client.get("/data-sources", params={"dataset_id": 1})
    client.post("/data-sources", json={"name": "s3", "settings_model_id": 1, "csv_delimiter": ";"})
    client.patch("/data-sources/4", json={"id": 4, "version_id": 0, "pattern": ".*"})
    client.get("/data-sources/4")
    client.get("/data-sources/4/tiny")
    client.get("/data-sources/4/history")
    client.get("/datasets/1/data-sources/new")
    client.get("/datasets/1/data-sources/4/copy")
    client.post("/data-sources/4/copy", json={"name": "s3 copy", "settings_model_id": 1})
    client.request("DELETE", "/data-sources/4", json={"name": "s3"})
    client.get("/data-sources/4/validation-model")
    assert [(c.method, c.path) for c in ingestion.calls] == [
        ("GET", "/datasets"),
        ("POST", "/datasets"),
        ("PATCH", "/datasets"),
        ("GET", "/datasets/new"),
        ("GET", "/datasets/1"),
        ("GET", "/datasets/1/history"),
        ("GET", "/datasets/1/stats"),
        ("GET", "/datasets/1/copy"),
        ("POST", "/datasets/1/copy"),
        ("GET", "/datasets/1/extra-details"),
        ("GET", "/datasets/1/any-training-job-running"),
        ("DELETE", "/datasets/1"),
        ("GET", "/datasets/1/validation_info/score"),
        ("POST", "/datasets/1/validation_info/score"),
        ("GET", "/destinations"),
        ("POST", "/destinations"),
        ("PATCH", "/destinations"),
        ("GET", "/destinations/new"),
        ("GET", "/destinations/2"),
        ("GET", "/data-sources"),
        ("POST", "/data-sources"),
        ("PATCH", "/data-sources/4"),
        ("GET", "/data-sources/4"),
        ("GET", "/data-sources/4/tiny"),
        ("GET", "/data-sources/4/history"),
        ("GET", "/datasets/1/data-sources/new"),
        ("GET", "/datasets/1/data-sources/4/copy"),
        ("POST", "/data-sources/4/copy"),
        ("DELETE", "/data-sources/4"),
        ("GET", "/data-sources/4/validation-model"),
    ]
    assert ingestion.calls[0].query == "limit=5&states=active&states=deleted&destination_id=3"
    assert {c.principal for c in ingestion.calls} == {EDITOR}
    assert quality_alerting.calls == []


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("POST", "/datasets", {"name": "x", "schema_name": "s", "database_name": "d"}, "table_name"),
        ("POST", "/datasets", DATASET | {"migration_policy": "whenever"}, "migration_policy"),
        ("POST", "/datasets", DATASET | {"settings_model": {"a": "\u0000"}}, "settings_model"),
        ("PATCH", "/datasets", {"name": "x"}, "id"),
        ("POST", "/destinations", {"destination_type": "mysql", "database_name": "d"}, "destination_type"),
        ("POST", "/destinations", {"destination_type": "postgresql"}, "database_name"),
        (
            "POST",
            "/data-sources",
            {"name": "x", "settings_model_id": 1, "data_source_type": "ftp"},
            "data_source_type",
        ),
        ("POST", "/data-sources", {"name": "x"}, "settings_model_id"),
        ("PATCH", "/data-sources/4", {"id": 4, "pattern": "x"}, "version_id"),
        (
            "POST",
            "/datasets/1/validation_info/score",
            {"json_schema_field_type": "date"},
            "json_schema_field_type",
        ),
        ("DELETE", "/datasets/1", {}, "name"),
    ],
)
def test_bodies_spec_003_forbids_are_refused_here(
    client: TestClient[Any], ingestion: FakeUpstream, method: str, path: str, body: dict[str, Any], where: str
) -> None:
    assert_refused(client.request(method, path, json=body), ingestion, where)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/datasets", {"limit": 0}),
        ("/datasets", {"limit": 1001}),
        ("/datasets", {"destination_id": 0}),
        ("/data-sources", {"start": "x"}),
        ("/errors", {"deleted": "maybe"}),
        ("/datasets/99999999999999999999", {}),
    ],
)
def test_query_and_path_parameters_are_checked(
    client: TestClient[Any], ingestion: FakeUpstream, path: str, params: dict[str, Any]
) -> None:
    assert_refused(client.get(path, params=params), ingestion)


def test_the_services_answer_is_relayed_as_it_is(client: TestClient[Any], ingestion: FakeUpstream) -> None:
    ingestion.answer = UpstreamResponse(
        409, b'{"detail":"dataset 1 changed since it was read"}', "application/json"
    )
    r = client.patch("/datasets", json={"id": 1, "version_id": 0, "name": "x"})
    assert (r.status_code, r.json()) == (409, {"detail": "dataset 1 changed since it was read"})
    ingestion.down = True
    assert client.get("/datasets/1").status_code == 503
