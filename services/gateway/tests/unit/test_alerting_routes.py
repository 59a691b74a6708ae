"""The gateway's anomaly, alert and log-cleanup routes: validated here, forwarded to the owning services."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.common.contracts.watcher import LogCleanupCounts
from headwater.gateway.testing import FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

# What each service answers to /log_cleanup: the counts of what it deleted.
CLEANED = {
    "execution-tracking": LogCleanupCounts(
        total_pipeline_executions_deleted=10,
        total_pipeline_execution_closure_parent_deleted=12,
        total_pipeline_execution_closure_child_deleted=1,
    ),
    "quality-alerting": LogCleanupCounts(
        total_anomaly_detection_results_deleted=3,
        total_freshness_pipeline_logs_deleted=4,
        total_timeliness_pipeline_execution_logs_deleted=5,
    ),
}


def test_log_cleanup_asks_every_service_and_sums_the_six_counts(
    client: TestClient[Any], execution_tracking: FakeUpstream, quality_alerting: FakeUpstream
) -> None:
    for upstream in (execution_tracking, quality_alerting):
        upstream.answer = UpstreamResponse(
            200, msgspec.json.encode(CLEANED[upstream.name]), "application/json"
        )
    r = client.post("/log_cleanup", json={"retention_days": 120})
    assert r.status_code == 200
    assert r.json() == {
        "total_pipeline_executions_deleted": 10,
        "total_timeliness_pipeline_execution_logs_deleted": 5,
        "total_anomaly_detection_results_deleted": 3,
        "total_pipeline_execution_closure_parent_deleted": 12,
        "total_pipeline_execution_closure_child_deleted": 1,
        "total_freshness_pipeline_logs_deleted": 4,
    }
    for upstream in (execution_tracking, quality_alerting):
        (call,) = upstream.calls
        assert (call.path, msgspec.json.decode(call.body or b"")) == (
            "/log_cleanup",
            {"retention_days": 120, "batch_size": 10000},
        )


@pytest.mark.parametrize(
    "body", [{"retention_days": 89}, {}, {"retention_days": 90, "batch_size": 0}, {"retention_days": "x"}]
)
def test_log_cleanup_refuses_what_the_spec_forbids(
    client: TestClient[Any], execution_tracking: FakeUpstream, body: dict[str, Any]
) -> None:
    assert_refused(client.post("/log_cleanup", json=body), execution_tracking)


def test_log_cleanup_answers_503_when_a_service_is_away(
    client: TestClient[Any], quality_alerting: FakeUpstream
) -> None:
    quality_alerting.down = True
    assert client.post("/log_cleanup", json={"retention_days": 90}).status_code == 503


@pytest.mark.parametrize(
    "body",
    [
        {"pipeline_id": 1, "metric_field": "total_rows", "z_threshold": 0.5},
        {"pipeline_id": 1, "metric_field": "total_rows", "z_threshold": 10.5},
        {"pipeline_id": 1, "metric_field": "total_rows", "lookback_days": 366},
        {"pipeline_id": 1, "metric_field": "total_rows", "minimum_executions": 1001},
        {"pipeline_id": 0, "metric_field": "total_rows"},
        {"metric_field": "total_rows"},
    ],
)
def test_rule_bounds_are_checked_at_the_gateway(
    client: TestClient[Any], quality_alerting: FakeUpstream, body: dict[str, Any]
) -> None:
    assert_refused(client.post("/anomaly_detection_rule", json=body), quality_alerting)


def test_rules_unflag_and_alerts_go_to_quality_alerting(
    client: TestClient[Any], quality_alerting: FakeUpstream, execution_tracking: FakeUpstream
) -> None:
    client.post("/anomaly_detection_rule", json={"pipeline_id": 1, "metric_field": "total_rows"})
    client.get("/anomaly_detection_rule/3")
    client.post(
        "/unflag_anomaly", json={"pipeline_id": 1, "pipeline_execution_id": 2, "metric_field": ["inserts"]}
    )
    client.get("/alerts", params={"end": 14, "limit": 3})
    client.post("/alerts/7/resolve", json={"action": "mark_data_as_valid"})
    client.post("/alerts/7/mute", json={})
    assert [(c.method, c.path, c.query) for c in quality_alerting.calls] == [
        ("POST", "/anomaly_detection_rule", ""),
        ("GET", "/anomaly_detection_rule/3", ""),
        ("POST", "/unflag_anomaly", ""),
        ("GET", "/alerts", "end=14&limit=3"),
        ("POST", "/alerts/7/resolve", ""),
        ("POST", "/alerts/7/mute", ""),
    ]
    # the rule's pipeline was looked up where pipelines live
    assert [(c.method, c.path) for c in execution_tracking.calls] == [("GET", "/pipeline/1")]


PIPELINE_9_MISSING = UpstreamResponse(404, b'{"detail":"pipeline 9 not found"}', "application/json")


def test_a_rule_for_a_pipeline_that_does_not_exist_is_a_404(
    client: TestClient[Any], quality_alerting: FakeUpstream, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = PIPELINE_9_MISSING
    created = client.post("/anomaly_detection_rule", json={"pipeline_id": 9, "metric_field": "total_rows"})
    assert (created.status_code, created.json()) == (404, {"detail": "pipeline 9 not found"})
    moved = client.patch("/anomaly_detection_rule", json={"id": 3, "pipeline_id": 9})
    assert (moved.status_code, moved.json()) == (404, {"detail": "pipeline 9 not found"})
    assert quality_alerting.calls == []
    assert [(c.method, c.path) for c in execution_tracking.calls] == [("GET", "/pipeline/9")] * 2


def test_a_rule_update_that_keeps_its_pipeline_asks_nobody_else(
    client: TestClient[Any], quality_alerting: FakeUpstream, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = PIPELINE_9_MISSING
    assert client.patch("/anomaly_detection_rule", json={"id": 3, "z_threshold": 4}).status_code == 200
    assert execution_tracking.calls == []
    assert [(c.method, c.path) for c in quality_alerting.calls] == [("PATCH", "/anomaly_detection_rule")]


def test_the_pipeline_lookup_relays_a_refusal_and_an_outage(
    client: TestClient[Any], quality_alerting: FakeUpstream, execution_tracking: FakeUpstream
) -> None:
    execution_tracking.answer = UpstreamResponse(403, b'{"detail":"limited"}', "application/json")
    refused = client.post("/anomaly_detection_rule", json={"pipeline_id": 1, "metric_field": "inserts"})
    assert (refused.status_code, refused.json()) == (403, {"detail": "limited"})
    execution_tracking.down = True
    assert (
        client.post("/anomaly_detection_rule", json={"pipeline_id": 1, "metric_field": "inserts"}).status_code
        == 503
    )
    assert quality_alerting.calls == []


@pytest.mark.parametrize(
    "params", [{"start": 1, "end": 2}, {"limit": 0}, {"limit": 1001}, {"start": "x"}, {"reverse": "maybe"}]
)
def test_alert_paging_parameters_are_checked(
    client: TestClient[Any], quality_alerting: FakeUpstream, params: dict[str, Any]
) -> None:
    assert_refused(client.get("/alerts", params=params), quality_alerting)


def test_resolve_refuses_an_action_spec_003_does_not_list(client: TestClient[Any]) -> None:
    assert client.post("/alerts/7/resolve", json={"action": "delete_everything"}).status_code == 422
