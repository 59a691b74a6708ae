"""Notifications end to end: a channel configured through the gateway, a stale pipeline made through the Watcher
API, the freshness check it triggers, and the signed webhook a real receiver on loopback gets, exactly once."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from headwater.common.testing import eventually
from headwater.quality_alerting.testing import Received, WebhookReceiver

pytestmark = pytest.mark.e2e

SECRET = "e2e-notification-secret"
CHANNELS = "/api/v1/notification_channels"


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver().start()
    yield r
    await r.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def signed(request: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["X-Headwater-Signature"])


async def stale_pipeline(gateway: httpx.AsyncClient) -> int:
    """A pipeline due every hour whose last insert was a day ago: stale at the next freshness check."""
    r = await gateway.post(
        "/pipeline",
        json={
            "name": unique("stale"),
            "pipeline_type_name": unique("notified"),
            "freshness_number": 1,
            "freshness_datepart": "hour",
        },
    )
    assert r.status_code == 201, r.text
    pipeline_id = int(r.json()["id"])
    day_ago = datetime.now(UTC) - timedelta(days=1)
    started = await gateway.post(
        "/start_pipeline_execution",
        json={"pipeline_id": pipeline_id, "start_date": (day_ago - timedelta(minutes=5)).isoformat()},
    )
    assert started.status_code == 201, started.text
    ended = await gateway.post(
        "/end_pipeline_execution",
        json={
            "id": started.json()["id"],
            "end_date": day_ago.isoformat(),
            "completed_successfully": True,
            "inserts": 10,
            "total_rows": 10,
        },
    )
    assert ended.status_code == 204, ended.text
    return pipeline_id


async def test_a_stale_pipeline_is_notified_once_to_a_signed_webhook(
    gateway: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    name = unique("e2e-webhook")
    pipeline_id = await stale_pipeline(gateway)
    created = await gateway.post(
        CHANNELS,
        json={
            "name": name,
            "kind": "webhook",
            "url": receiver.url(name),
            "secret": SECRET,
            "scope": "pipeline",
            "pipeline_id": pipeline_id,
            "min_severity": "warning",
        },
    )
    assert created.status_code == 201, created.text
    channel: dict[str, Any] = created.json()
    assert channel["has_secret"] is True
    assert "secret" not in channel

    # The test button works through the gateway too.
    tested = await gateway.post(f"{CHANNELS}/{channel['id']}/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["delivered"] is True

    async def notified() -> Received:
        # quality-alerting learns of the insert from pipeline.changed; until it has, a check finds nothing.
        queued = await gateway.post("/freshness")
        assert queued.status_code == 200, queued.text
        assert queued.json() == {"status": "queued"}
        alerts = [r for r in receiver.requests(name) if r.json()["event"] == "alert.raised"]
        assert alerts, "no alert delivered yet"
        return alerts[0]

    request = await eventually(notified, timeout=60, interval=1.0)
    assert signed(request)
    alert = request.json()["alert"]
    assert (alert["alert_type"], alert["pipeline_id"]) == ("freshness", pipeline_id)

    async def recorded() -> list[dict[str, Any]]:
        r = await gateway.get(f"{CHANNELS}/{channel['id']}/deliveries")
        assert r.status_code == 200, r.text
        assert [d["status"] for d in r.json()] == ["delivered"]
        return r.json()

    (delivery,) = await eventually(recorded, timeout=15)
    assert delivery["alert_id"] == alert["id"]
    assert (delivery["attempts"], delivery["last_status_code"]) == (1, 200)
    assert request.headers["X-Headwater-Delivery"] == str(delivery["id"])

    # Later checks find the same stale DML timestamp: no new alert, nothing sent again.
    for _ in range(3):
        assert (await gateway.post("/freshness")).status_code == 200
    answer = await gateway.get("/alerts", params={"pipeline_id": pipeline_id, "alert_type": "freshness"})
    assert answer.status_code == 200, answer.text
    assert [a["id"] for a in answer.json()["results"]] == [alert["id"]]
    assert len([r for r in receiver.requests(name) if r.json()["event"] == "alert.raised"]) == 1


async def test_channel_api_errors_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    body = {"name": unique("e2e-slack"), "kind": "slack", "url": "http://127.0.0.1:9/hook"}
    created = await gateway.post(CHANNELS, json=body)
    assert created.status_code == 201, created.text
    channel_id = created.json()["id"]
    assert (await gateway.post(CHANNELS, json=body)).status_code == 409
    assert (
        await gateway.post(CHANNELS, json={**body, "name": unique("x"), "kind": "sms"})
    ).status_code == 422
    no_secret = {**body, "name": unique("x"), "kind": "webhook"}
    assert (await gateway.post(CHANNELS, json=no_secret)).status_code == 422
    assert (await gateway.get(f"{CHANNELS}/{channel_id}")).json()["has_secret"] is False
    patched = await gateway.patch(f"{CHANNELS}/{channel_id}", json={"active": False})
    assert (patched.status_code, patched.json()["active"]) == (200, False)
    refused = await gateway.post(f"{CHANNELS}/{channel_id}/test")  # nothing listens on port 9
    assert refused.status_code == 200
    assert refused.json()["delivered"] is False
    assert refused.json()["status_code"] is None
    assert refused.json()["error"]
    assert (await gateway.delete(f"{CHANNELS}/{channel_id}")).status_code == 204
    assert (await gateway.get(f"{CHANNELS}/{channel_id}")).status_code == 404
