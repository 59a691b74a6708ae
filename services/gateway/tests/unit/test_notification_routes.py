"""The gateway's notification channel routes: validated against the alerting contracts, forwarded to
quality-alerting at the same paths, answers relayed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

BASE = "/api/v1/notification_channels"
WEBHOOK: dict[str, Any] = {
    "name": "ops",
    "kind": "webhook",
    "url": "https://hooks.example.com/headwater",
    "secret": "0123456789abcdef",
}


@pytest.mark.parametrize(
    "body",
    [
        WEBHOOK,
        {"name": "chat", "kind": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
        {**WEBHOOK, "scope": "pipeline", "pipeline_id": 5, "min_severity": "critical"},
        {
            **WEBHOOK,
            "scope": "pipeline_type",
            "pipeline_type_id": 2,
            "suppression_minutes": 0,
            "active": False,
        },
    ],
)
def test_a_valid_channel_is_forwarded_as_sent(
    client: TestClient, quality_alerting: FakeUpstream, body: dict[str, Any]
) -> None:
    quality_alerting.answer = UpstreamResponse(201, b'{"id":1}', "application/json")
    r = client.post(BASE, json=body)
    assert r.status_code == 201
    assert r.json() == {"id": 1}
    (call,) = quality_alerting.calls
    assert (call.method, call.path) == ("POST", BASE)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"kind": "email"}, "kind"),
        ({"scope": "team"}, "scope"),
        ({"min_severity": "fatal"}, "min_severity"),
        ({"secret": "short"}, "secret"),
        ({"suppression_minutes": -1}, "suppression_minutes"),
        ({"pipeline_id": 0}, "pipeline_id"),
        ({"name": ""}, "name"),
        ({"url": ""}, "url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_channel_is_refused_before_reaching_the_service(
    client: TestClient, quality_alerting: FakeUpstream, changes: dict[str, Any], where: str
) -> None:
    r = client.post(BASE, json={**WEBHOOK, **changes})
    assert r.status_code == 422
    assert where in r.text
    assert quality_alerting.calls == []


def test_a_missing_kind_is_refused(client: TestClient, quality_alerting: FakeUpstream) -> None:
    assert_refused(client.post(BASE, json={"name": "x", "url": "https://example.com"}), quality_alerting)


@pytest.mark.parametrize(
    ("method", "path", "json", "status"),
    [
        ("GET", BASE, None, 200),
        ("GET", f"{BASE}/7", None, 200),
        ("PATCH", f"{BASE}/7", {"min_severity": "warning", "secret": None}, 200),
        ("DELETE", f"{BASE}/7", None, 204),
        ("GET", f"{BASE}/7/deliveries", None, 200),
        ("POST", f"{BASE}/7/test", None, 200),
    ],
)
def test_the_other_routes_forward_to_the_same_path(
    client: TestClient,
    quality_alerting: FakeUpstream,
    method: str,
    path: str,
    json: dict[str, Any] | None,
    status: int,
) -> None:
    quality_alerting.answer = UpstreamResponse(status, b"" if status == 204 else b"[]", "application/json")
    r = client.request(method, path, json=json)
    assert r.status_code == status
    (call,) = quality_alerting.calls
    assert (call.method, call.path) == (method, path)


def test_deliveries_limit_is_validated_and_forwarded(
    client: TestClient, quality_alerting: FakeUpstream
) -> None:
    quality_alerting.answer = UpstreamResponse(200, b"[]", "application/json")
    assert client.get(f"{BASE}/7/deliveries", params={"limit": 0}).status_code == 422
    assert client.get(f"{BASE}/7/deliveries", params={"limit": 5000}).status_code == 422
    assert client.get(f"{BASE}/7/deliveries", params={"limit": 10}).status_code == 200
    (call,) = quality_alerting.calls
    assert call.query == "limit=10"


def test_a_bad_patch_is_refused(client: TestClient, quality_alerting: FakeUpstream) -> None:
    assert client.patch(f"{BASE}/7", json={"kind": "sms"}).status_code == 422
    assert client.patch(f"{BASE}/7", json={"nonsense": 1}).status_code == 422
    assert quality_alerting.calls == []


def test_service_errors_are_relayed(client: TestClient, quality_alerting: FakeUpstream) -> None:
    quality_alerting.answer = UpstreamResponse(409, b'{"detail":"taken"}', "application/json")
    r = client.post(BASE, json=WEBHOOK)
    assert (r.status_code, r.json()) == (409, {"detail": "taken"})
