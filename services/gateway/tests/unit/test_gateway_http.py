"""The gateway validates Watcher requests, forwards them unchanged and relays the answer."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import EDITOR, FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse


def test_root_answers_ok(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_valid_request_is_forwarded_byte_for_byte_and_answer_relayed(
    client: TestClient, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = UpstreamResponse(
        201, b'{"id":1,"active":true,"load_lineage":true,"watermark":null}', "application/json"
    )
    body = b'{"name": "P", "pipeline_type_name": "T", "unknown_field": 1}'
    r = client.post("/pipeline", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201
    assert r.json() == {"id": 1, "active": True, "load_lineage": True, "watermark": None}
    (call,) = execution_tracking.calls
    assert (call.method, call.path, call.body) == ("POST", "/pipeline", body)
    assert call.principal == EDITOR


def test_no_content_is_relayed(client: TestClient, execution_tracking: FakeUpstream) -> None:
    execution_tracking.answer = UpstreamResponse(204, b"", "application/json")
    r = client.post(
        "/end_pipeline_execution",
        json={"id": 1, "end_date": "2024-01-01T10:05:00Z", "completed_successfully": True},
    )
    assert r.status_code == 204
    assert r.content == b""


def test_upstream_errors_are_relayed(client: TestClient, execution_tracking: FakeUpstream) -> None:
    execution_tracking.answer = UpstreamResponse(
        404, b'{"detail":"pipeline 9 not found"}', "application/json"
    )
    r = client.get("/pipeline/9")
    assert r.status_code == 404
    assert r.json() == {"detail": "pipeline 9 not found"}
    assert execution_tracking.calls[0].path == "/pipeline/9"


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/pipeline", {"name": "p"}, "pipeline_type_name"),
        ("/pipeline", {"name": "", "pipeline_type_name": "t"}, "name"),
        ("/pipeline", {"name": 5, "pipeline_type_name": "t"}, "name"),
        ("/start_pipeline_execution", {"pipeline_id": "one"}, "pipeline_id"),
        ("/start_pipeline_execution", {"pipeline_id": 1, "start_date": "yesterday"}, "start_date"),
        (
            "/end_pipeline_execution",
            {"id": 1, "end_date": "2024-01-01T00:00:00Z", "completed_successfully": True, "total_rows": -5},
            "total_rows",
        ),
        ("/end_pipeline_execution", {"id": 1, "completed_successfully": True}, "end_date"),
    ],
)
def test_invalid_bodies_get_422_with_the_field_named_and_are_not_forwarded(
    client: TestClient, execution_tracking: FakeUpstream, path: str, body: dict[str, object], where: str
) -> None:
    assert_refused(client.post(path, json=body), execution_tracking, where)


def test_malformed_json_is_a_client_error(client: TestClient, execution_tracking: FakeUpstream) -> None:
    r = client.post("/pipeline", content=b'{"name": ', headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.json()["detail"]
    assert execution_tracking.calls == []


def test_non_integer_path_id_is_a_client_error(client: TestClient) -> None:
    assert client.get("/pipeline/abc").status_code in (400, 404, 422)


@pytest.mark.parametrize("path", ["/pipeline", "/pipeline_type", "/address", "/address_type"])
def test_lists_forward_limit_and_offset_and_refuse_them_out_of_bounds(
    client: TestClient, execution_tracking: FakeUpstream, path: str
) -> None:
    assert client.get(path, params={"limit": 5, "offset": 10}).status_code == 200
    assert execution_tracking.calls[-1].query == "limit=5&offset=10"
    assert client.get(path).status_code == 200  # without them, as spec 000's clients call it
    for bad in ({"limit": 0}, {"limit": 100_001}, {"offset": -1}):
        assert client.get(path, params=bad).status_code == 422
    assert len(execution_tracking.calls) == 2


def test_service_down_is_503_not_500(client: TestClient, execution_tracking: FakeUpstream) -> None:
    execution_tracking.down = True
    r = client.get("/pipeline")
    assert r.status_code == 503
    # the gateway's readiness is its own: a service down does not take it out of the load balancer
    assert client.get("/health/ready").status_code == 200
    assert client.get("/health/live").status_code == 200


# The public paths of every feature and the request and answer bodies their documents name.
DOCUMENTED_PATHS = (
    "/pipeline",
    "/pipeline/{pipeline_id}",
    "/start_pipeline_execution",
    "/end_pipeline_execution",
    "/pipeline_execution/{pipeline_execution_id}",
    "/pipeline_type",
    "/address",
    "/address/{address_id}",
    "/address_type",
    "/address_lineage",
    "/lineage/address/{address_id}",
    "/lineage/pipeline/{pipeline_id}",
    "/api/v1/lineage",
    "/freshness",
    "/timeliness",
    "/celery/monitor-queue",
    "/api/v1/schedules",
)
DOCUMENTED_SCHEMAS = (
    "PipelineCreate",
    "AddressCreate",
    "AddressLineageCreate",
    "LineageGraph",
    "TimelinessCheck",
)


def test_openapi_documents_the_public_paths_and_their_bodies(client: TestClient) -> None:
    doc = client.get("/schema/openapi.json").json()
    for path in DOCUMENTED_PATHS:
        assert path in doc["paths"], path
    assert "post" in doc["paths"]["/api/v1/lineage"]
    assert "200" in doc["paths"]["/timeliness"]["post"]["responses"]
    schemas = str(doc["components"]["schemas"])
    for name in DOCUMENTED_SCHEMAS:
        assert name in schemas, name


def test_openapi_documents_each_dialects_errors_and_the_public_routes(client: TestClient) -> None:
    doc = client.get("/schema/openapi.json").json()

    def error(path: str, method: str, status: int) -> str:
        return doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"][
            "$ref"
        ]

    assert error("/login", "post", 400).endswith("/OlakeError")  # `{success, message}`, not Litestar's
    assert error("/api/v1/project/{project_id}/members", "get", 403).endswith("/OlakeError")
    assert error("/pipeline", "post", 422).endswith("/Invalid")  # `{detail: [{loc, msg, type}]}`
    assert error("/pipeline", "post", 400).endswith("/Detail")
    assert error("/alerts/{alert_item_id}", "get", 404).endswith("/Detail")
    assert {"401", "403", "503"} <= set(doc["paths"]["/alerts"]["get"]["responses"])
    assert "429" in doc["paths"]["/token"]["post"]["responses"]
    assert "200" in doc["paths"]["/address"]["post"]["responses"]  # a get-or-create of one that existed
    assert "200" in doc["paths"]["/logout"]["post"]["responses"]
    for public in ("/login", "/signup", "/token"):
        assert doc["paths"][public]["post"]["security"] == [{}], public
    assert "security" not in doc["paths"]["/alerts"]["get"]  # the document's: a credential


def test_an_id_beyond_bigint_in_a_path_is_refused_before_any_service(
    client: TestClient, quality_alerting: FakeUpstream
) -> None:
    assert_refused(client.get(f"/alerts/{2**63}"), quality_alerting, "alert_item_id")
    assert client.get(f"/alerts/{2**63 - 1}").status_code == 200
