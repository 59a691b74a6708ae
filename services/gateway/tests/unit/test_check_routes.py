"""The gateway's check routes: Watcher freshness, timeliness and queue monitor, and the schedule listing.

Each is validated here and forwarded to the scheduler, whose answer is relayed; the Watcher answers 200.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.gateway.testing import FakeUpstream
from headwater.gateway.upstream import UpstreamResponse

QUEUED = UpstreamResponse(200, b'{"status":"queued"}', "application/json")


@pytest.fixture
def scheduler() -> FakeUpstream:
    return FakeUpstream("scheduler", answer=QUEUED)


def test_freshness_is_forwarded_and_answers_200_queued(
    client: TestClient[Any], scheduler: FakeUpstream
) -> None:
    r = client.post("/freshness")
    assert (r.status_code, r.json()) == (200, {"status": "queued"})
    (call,) = scheduler.calls
    assert (call.method, call.path, call.body) == ("POST", "/freshness", b"")


def test_a_body_sent_to_freshness_is_not_forwarded(client: TestClient[Any], scheduler: FakeUpstream) -> None:
    assert client.post("/freshness", json={"anything": 1}).status_code == 200
    assert scheduler.calls[0].body == b""


@pytest.mark.parametrize(
    "body",
    [
        b'{"lookback_minutes": 30}',
        b'{"lookback_minutes": 5}',
        b'{"lookback_minutes": 60, "unknown": "ignored"}',
        b"{}",
        b"",
    ],
)
def test_valid_timeliness_requests_are_forwarded_byte_for_byte(
    client: TestClient[Any], scheduler: FakeUpstream, body: bytes
) -> None:
    r = client.post("/timeliness", content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (200, {"status": "queued"})
    (call,) = scheduler.calls
    assert (call.method, call.path, call.body) == ("POST", "/timeliness", body)


@pytest.mark.parametrize(
    "body",
    [
        {"lookback_minutes": 4},
        {"lookback_minutes": 2},
        {"lookback_minutes": 0},
        {"lookback_minutes": -15},
        {"lookback_minutes": "soon"},
        {"lookback_minutes": 10**12},
    ],
)
def test_invalid_lookbacks_get_a_fastapi_style_422_and_are_not_forwarded(
    client: TestClient[Any], scheduler: FakeUpstream, body: dict[str, Any]
) -> None:
    r = client.post("/timeliness", json=body)
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "lookback_minutes"]
    assert detail["type"] == "value_error"
    assert scheduler.calls == []


def test_malformed_timeliness_json_is_a_client_error(
    client: TestClient[Any], scheduler: FakeUpstream
) -> None:
    r = client.post(
        "/timeliness", content=b'{"lookback_minutes": ', headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500
    assert scheduler.calls == []


def test_the_queue_monitor_is_forwarded_and_its_answer_relayed(
    client: TestClient[Any], scheduler: FakeUpstream
) -> None:
    scheduler.answer = UpstreamResponse(200, b'{"status":"success"}', "application/json")
    r = client.post("/celery/monitor-queue")
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    (call,) = scheduler.calls
    assert (call.method, call.path, call.body) == ("POST", "/celery/monitor-queue", b"")


def test_schedules_are_listed_from_the_scheduler(client: TestClient[Any], scheduler: FakeUpstream) -> None:
    listing = (
        b'[{"name":"freshness","cron":"0 * * * *","enabled":true,'
        b'"next_due_at":"2024-01-01T11:00:00Z","last_fired_at":null}]'
    )
    scheduler.answer = UpstreamResponse(200, listing, "application/json")
    r = client.get("/api/v1/schedules")
    assert r.status_code == 200
    assert r.content == listing
    (call,) = scheduler.calls
    assert (call.method, call.path, call.body) == ("GET", "/schedules", None)


def test_the_scheduler_being_away_is_a_503(client: TestClient[Any], scheduler: FakeUpstream) -> None:
    scheduler.down = True
    r = client.post("/timeliness", json={"lookback_minutes": 30})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
