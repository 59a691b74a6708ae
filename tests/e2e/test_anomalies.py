"""Anomaly detection through the gateway and Kafka: a stable series, an outlier flagged and alerted, unflag,
resolve, and a SIGKILL of quality-alerting's worker mid-stream that loses no detection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from headwater.common.testing import TopicCollector
from headwater.common.testing.polling import eventually
from headwater.devstack.stack import Stack
from headwater.quality_alerting.testing import WebhookReceiver

pytestmark = pytest.mark.e2e

DAY0 = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
SECRET = "anomaly-e2e-webhook-secret"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def new_pipeline(gateway: httpx.AsyncClient, label: str) -> int:
    answer = await gateway.post(
        "/pipeline", json={"name": f"{label} {uuid.uuid4().hex[:8]}", "pipeline_type_name": "anomaly e2e"}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def run(gateway: httpx.AsyncClient, pipeline_id: int, start: datetime, total_rows: int) -> int:
    started = await gateway.post(
        "/start_pipeline_execution", json={"pipeline_id": pipeline_id, "start_date": iso(start)}
    )
    assert started.status_code == 201, started.text
    execution_id = started.json()["id"]
    ended = await gateway.post(
        "/end_pipeline_execution",
        json={
            "id": execution_id,
            "end_date": iso(start + timedelta(minutes=5)),
            "completed_successfully": True,
            "total_rows": total_rows,
        },
    )
    assert ended.status_code == 204, ended.text
    return execution_id


async def flags(gateway: httpx.AsyncClient, execution_id: int) -> dict[str, Any] | None:
    return (await gateway.get(f"/pipeline_execution/{execution_id}")).json()["anomaly_flags"]


async def wait_for_flags(
    gateway: httpx.AsyncClient, execution_id: int, expected: dict[str, bool], timeout: float = 60
) -> None:
    """Poll until the flags are as expected. The delay itself is measured by `make bench` (under a second);
    the deadline here only stops a broken pipeline of events from hanging the suite."""

    async def check() -> None:
        got = await flags(gateway, execution_id)
        assert got == expected, f"execution {execution_id}: anomaly_flags {got}"

    await eventually(check, timeout=timeout, interval=0.1)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver().start()
    yield r
    await r.stop()


async def test_an_outlier_is_flagged_alerted_notified_unflagged_and_resolved(
    system: Stack, gateway: httpx.AsyncClient, events: TopicCollector, receiver: WebhookReceiver
) -> None:
    pipeline = await new_pipeline(gateway, "orders")
    hook = f"anomaly-{uuid.uuid4().hex[:8]}"
    channel = await gateway.post(
        "/api/v1/notification_channels",
        json={
            "name": hook,
            "kind": "webhook",
            "url": receiver.url(hook),
            "secret": SECRET,
            "scope": "pipeline",
            "pipeline_id": pipeline,
        },
    )
    assert channel.status_code == 201, channel.text
    rule = await gateway.post(
        "/anomaly_detection_rule",
        json={
            "pipeline_id": pipeline,
            "metric_field": "total_rows",
            "minimum_executions": 5,
            "lookback_days": 30,
        },
    )
    assert rule.status_code == 201, rule.text
    for day, rows in enumerate([1000, 1020, 980, 1010, 990, 1005, 995, 1000]):
        await run(gateway, pipeline, DAY0 + timedelta(days=day), rows)
    normal = await run(gateway, pipeline, DAY0 + timedelta(days=8), 1003)
    outlier = await run(gateway, pipeline, DAY0 + timedelta(days=9), 25000)

    await wait_for_flags(gateway, outlier, {"total_rows": True})
    assert await flags(gateway, normal) is None

    listed = (await gateway.get("/alerts", params={"alert_type": "anomaly", "pipeline_id": pipeline})).json()
    [alert] = listed["results"]
    assert (alert["execution_id"], alert["resolved"], alert["severity"]) == (outlier, False, "warning")
    assert alert["body"]["metrics"][0]["baseline_count"] == 9
    assert (await gateway.get(f"/alerts/{alert['id']}")).json()["msg"] == alert["msg"]
    raised = await events.wait_for(
        lambda m: m.topic == "alert.raised" and m.json()["alert_id"] == alert["id"]
    )
    assert raised[0].json()["pipeline_id"] == pipeline

    body = {"pipeline_id": pipeline, "pipeline_execution_id": outlier, "metric_field": ["total_rows"]}
    assert (await gateway.post("/unflag_anomaly", json=body)).status_code == 204
    await wait_for_flags(gateway, outlier, {"total_rows": False})
    again = await gateway.post("/unflag_anomaly", json=body)
    assert again.status_code == 404
    assert "No anomaly flagged" in again.json()["detail"]

    resolved = await gateway.post(f"/alerts/{alert['id']}/resolve", json={"action": "mark_data_as_valid"})
    assert (resolved.status_code, resolved.json()) == (200, {"redirect_post_submit_to": ""})
    assert alert["id"] not in [a["id"] for a in (await gateway.get("/alerts")).json()["results"]]
    done = (await gateway.get("/alerts", params={"resolved": "true", "pipeline_id": pipeline})).json()[
        "results"
    ]
    assert [(a["id"], a["resolve_action"]) for a in done] == [(alert["id"], "mark_data_as_valid")]
    await events.wait_for(lambda m: m.topic == "alert.resolved" and m.json()["alert_id"] == alert["id"])
    assert (await gateway.post("/alerts/999999999/resolve", json={})).status_code == 404
    assert (await gateway.get("/alerts", params={"start": 1, "end": 5})).status_code == 422


async def test_sigkill_of_quality_alerting_mid_stream_loses_no_detection(
    system: Stack, gateway: httpx.AsyncClient
) -> None:
    """Ten pipelines each get a stable series and then an outlier while quality-alerting's worker is killed
    and restarted: every outlier is flagged, and alerted exactly once."""
    pipelines = [await new_pipeline(gateway, f"crash {n}") for n in range(10)]
    for pipeline in pipelines:
        rule = {"pipeline_id": pipeline, "metric_field": "total_rows", "minimum_executions": 5}
        assert (await gateway.post("/anomaly_detection_rule", json=rule)).status_code == 201

    async def series(pipeline: int) -> int:
        for day, rows in enumerate([500, 510, 490, 505, 495, 500]):
            await run(gateway, pipeline, DAY0 + timedelta(days=day), rows)
        return await run(gateway, pipeline, DAY0 + timedelta(days=6), 9000)

    stream = asyncio.gather(*(series(p) for p in pipelines))
    await asyncio.sleep(0.5)
    system.stop_service("quality-alerting", ("worker",), kill=True)
    outliers = await stream  # runs keep being accepted while quality-alerting is down
    system.start_service("quality-alerting", ("worker",))

    for outlier in outliers:
        await wait_for_flags(gateway, outlier, {"total_rows": True}, timeout=60)
    for pipeline, outlier in zip(pipelines, outliers, strict=True):
        alerts = (
            await gateway.get("/alerts", params={"alert_type": "anomaly", "pipeline_id": pipeline})
        ).json()
        assert [a["execution_id"] for a in alerts["results"]] == [outlier]
