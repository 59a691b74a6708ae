"""Every string a client sends is bounded and storable: names are not blank, and no text (free-form metadata
included, keys and nested values) holds a NUL or a lone UTF-16 surrogate; a body that is not UTF-8 is a 400.
Each is refused at the gateway, with the field named, and never forwarded."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import FakeUpstream, assert_refused

END = {"id": 1, "end_date": "2024-01-01T10:05:00Z", "completed_successfully": True}
ADDRESS = {"name": "a.b.c", "address_type_name": "postgres", "address_type_group_name": "database"}


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/pipeline", {"name": "   ", "pipeline_type_name": "t"}, "name"),
        ("/pipeline", {"name": "p", "pipeline_type_name": "\t\n"}, "pipeline_type_name"),
        ("/pipeline_type", {"name": " "}, "name"),
        ("/address", {**ADDRESS, "name": "  "}, "name"),
        ("/address_type", {"name": "", "group_name": "database"}, "name"),
        ("/pipeline", {"name": "p\u0000", "pipeline_type_name": "t"}, "name"),
        ("/pipeline", {"name": "p", "pipeline_type_name": "t", "next_watermark": "w" * 51}, "next_watermark"),
        ("/pipeline", {"name": "p", "pipeline_type_name": "t", "freshness_datepart": "d" * 5000}, "datepart"),
        (
            "/pipeline",
            {"name": "p", "pipeline_type_name": "t", "pipeline_metadata": {"k": "\u0000"}},
            "metadata",
        ),
        ("/end_pipeline_execution", {**END, "execution_metadata": {"a": {"b": ["x\u0000y"]}}}, "metadata"),
        ("/end_pipeline_execution", {**END, "execution_metadata": {"k\u0000": 1}}, "metadata"),
        ("/start_pipeline_execution", {"pipeline_id": 1, "watermark": "w\u0000"}, "watermark"),
        ("/address", {**ADDRESS, "primary_key": "id\u0000"}, "primary_key"),
        ("/address", {**ADDRESS, "address_metadata": {"owner": ["\u0000"]}}, "metadata"),
        (
            "/anomaly_detection_rule",
            {"pipeline_id": 1, "metric_field": "inserts", "direction": "x" * 500},
            "direction",
        ),
    ],
)
def test_blank_names_nul_bytes_and_overlong_strings_are_refused(
    client: TestClient[Any],
    execution_tracking: FakeUpstream,
    quality_alerting: FakeUpstream,
    path: str,
    body: dict[str, Any],
    where: str,
) -> None:
    upstream = quality_alerting if path.startswith("/anomaly") else execution_tracking
    assert_refused(client.post(path, json=body), upstream, where)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"execution_metadata": {"a": "\xed\xb2\xbf"}, ',  # a lone surrogate, UTF-8 encoded ("surrogatepass")
        b'{"execution_metadata": {"\xff": 1}, ',
    ],
)
def test_a_body_that_is_not_utf8_is_a_400(
    client: TestClient[Any], execution_tracking: FakeUpstream, raw: bytes
) -> None:
    body = raw + b'"id": 1, "end_date": "2024-01-01T10:05:00Z", "completed_successfully": true}'
    r = client.post("/end_pipeline_execution", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert "UTF-8" in r.json()["detail"]
    assert execution_tracking.calls == []


def test_escaped_lone_surrogates_are_refused(
    client: TestClient[Any], execution_tracking: FakeUpstream
) -> None:
    body = b'{"id": 1, "end_date": "2024-01-01T10:05:00Z", "completed_successfully": true, '
    for metadata in (rb'{"a": "\udcff"}', rb'{"\ud800": 1}', rb'{"a": "\udc00\ud800"}'):
        r = client.post(
            "/end_pipeline_execution",
            content=body + b'"execution_metadata": ' + metadata + b"}",
            headers={"content-type": "application/json"},
        )
        assert 400 <= r.status_code < 500, r.text
    assert execution_tracking.calls == []


def test_valid_unicode_text_passes_and_is_forwarded_unchanged(
    client: TestClient[Any], execution_tracking: FakeUpstream
) -> None:
    body = {
        **END,
        "execution_metadata": {"städte": ["Zürich", "東京", "\U0001f600"], "n": {"deep": [1, None]}},
    }
    assert client.post("/end_pipeline_execution", json=body).status_code == 200
    (call,) = execution_tracking.calls
    assert call.path == "/end_pipeline_execution"


def test_refusals_say_what_text_is_allowed(client: TestClient[Any]) -> None:
    (detail,) = client.post("/pipeline", json={"name": " ", "pipeline_type_name": "t"}).json()["detail"]
    assert detail["loc"] == ["body", "name"]
    assert detail["msg"] == "Expected a name that is not blank, without NUL characters"


def test_an_olake_body_that_is_not_utf8_is_a_400_in_its_shape(client: TestClient[Any]) -> None:
    r = client.post(
        "/login",
        content=b'{"username": "\xff", "password": "p"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json() == {
        "success": False,
        "message": "the request body is not valid UTF-8 (invalid start byte)",
    }
