"""The gateway's Qluster fatal-error routes: validated here, forwarded to quality-alerting, documented."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

CREATE = {
    "job_name": "sensor-1",
    "module": "sensor",
    "data_source_model_id": 1,
    "job_type": "job",
    "error": "InvalidCron",
    "msg": "Fix it",
    "meta_data": {"foo": "bar"},
}


def test_errors_go_to_quality_alerting(client: TestClient[Any], quality_alerting: FakeUpstream) -> None:
    client.get("/errors", params={"end": 14, "limit": 3, "module": "ingestion"})
    client.post("/errors", json=CREATE)
    client.get("/errors/7")
    client.request("DELETE", "/errors", json={"id": 7})
    assert [(c.method, c.path, c.query) for c in quality_alerting.calls] == [
        ("GET", "/errors", "end=14&limit=3&module=ingestion"),
        ("POST", "/errors", ""),
        ("GET", "/errors/7", ""),
        ("DELETE", "/errors", ""),
    ]
    assert msgspec.json.decode(quality_alerting.calls[1].body or b"") == CREATE
    # a DELETE's body is forwarded too: it says which errors
    assert msgspec.json.decode(quality_alerting.calls[3].body or b"") == {"id": 7}


def test_the_services_answers_are_relayed(client: TestClient[Any], quality_alerting: FakeUpstream) -> None:
    quality_alerting.answer = UpstreamResponse(
        404, b'{"detail":"Fatal error 9 not found"}', "application/json"
    )
    missing = client.get("/errors/9")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Fatal error 9 not found"})
    quality_alerting.answer = UpstreamResponse(200, b"null", "application/json")
    deleted = client.request("DELETE", "/errors", json={"job_name": "sensor-1", "error": "InvalidCron"})
    assert (deleted.status_code, deleted.json()) == (200, None)


@pytest.mark.parametrize(
    "params",
    [{"start": 1, "end": 2}, {"limit": 0}, {"limit": 1001}, {"start": "x"}, {"deleted": "maybe"}, {"end": 0}],
)
def test_error_paging_parameters_are_checked(
    client: TestClient[Any], quality_alerting: FakeUpstream, params: dict[str, Any]
) -> None:
    assert_refused(client.get("/errors", params=params), quality_alerting)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"module": "sensor", "msg": "m"}, "error"),  # required
        ({"error": "E", "msg": "m"}, "module"),
        ({"error": "E", "module": "sensor"}, "msg"),
        ({"error": "  ", "module": "sensor", "msg": "m"}, "error"),  # blank
        ({"error": "E", "module": "sensor", "msg": "m", "job_type": "daemon"}, "job_type"),
        ({"error": "E", "module": "sensor", "msg": "m", "data_source_model_id": 0}, "data_source_model_id"),
        ({"error": "E", "module": "sensor", "msg": "nul \u0000"}, "msg"),
        ({"error": "E", "module": "sensor", "msg": "m", "meta_data": {"k": "\u0000"}}, "meta_data"),
    ],
)
def test_create_refuses_what_spec_003_does_not_allow(
    client: TestClient[Any], quality_alerting: FakeUpstream, body: dict[str, Any], where: str
) -> None:
    assert_refused(client.post("/errors", json=body), quality_alerting, where)


@pytest.mark.parametrize("body", [{}, {"id": 0}, {"job_type": "daemon"}, {"id": "x"}])
def test_delete_refuses_a_body_that_names_no_error(
    client: TestClient[Any], quality_alerting: FakeUpstream, body: dict[str, Any]
) -> None:
    assert_refused(client.request("DELETE", "/errors", json=body), quality_alerting)


def test_an_error_id_beyond_bigint_is_refused_before_the_service(
    client: TestClient[Any], quality_alerting: FakeUpstream
) -> None:
    assert_refused(client.get(f"/errors/{2**63}"), quality_alerting, "error_id")


def test_openapi_documents_the_error_routes(client: TestClient[Any]) -> None:
    doc = client.get("/schema/openapi.json").json()
    paths = doc["paths"]
    assert {"get", "post", "delete"} <= set(paths["/errors"])
    assert "get" in paths["/errors/{error_id}"]
    assert "200" in paths["/errors"]["post"]["responses"]
    assert "200" in paths["/errors"]["delete"]["responses"]
    assert "404" in paths["/errors/{error_id}"]["get"]["responses"]
    assert {"401", "403", "503"} <= set(paths["/errors"]["get"]["responses"])
    schemas = doc["components"]["schemas"]
    assert {"FatalError", "FatalErrorCreate", "FatalErrorDelete", "FatalErrorPage"} <= set(schemas)
