"""Freshness and timeliness through the gateway and Kafka: a stale pipeline and a late running execution each
alert exactly once across repeated checks; a muted pipeline never does; `POST /log_cleanup` sums every
service's counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from headwater.common.testing.polling import eventually
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def pipeline(gateway: httpx.AsyncClient, label: str, **slo: Any) -> int:
    body = {"name": f"{label} {uuid.uuid4().hex[:8]}", "pipeline_type_name": "checks e2e", **slo}
    answer = await gateway.post("/pipeline", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def loaded_minutes_ago(gateway: httpx.AsyncClient, pipeline_id: int, minutes: int) -> None:
    """A successful run that inserted rows and ended `minutes` ago: the pipeline's last DML is then."""
    end = datetime.now(UTC) - timedelta(minutes=minutes)
    started = await gateway.post(
        "/start_pipeline_execution",
        json={"pipeline_id": pipeline_id, "start_date": iso(end - timedelta(minutes=1))},
    )
    ended = await gateway.post(
        "/end_pipeline_execution",
        json={"id": started.json()["id"], "end_date": iso(end), "completed_successfully": True, "inserts": 5},
    )
    assert ended.status_code == 204, ended.text


async def running_since(gateway: httpx.AsyncClient, pipeline_id: int, minutes: int) -> int:
    started = await gateway.post(
        "/start_pipeline_execution",
        json={"pipeline_id": pipeline_id, "start_date": iso(datetime.now(UTC) - timedelta(minutes=minutes))},
    )
    assert started.status_code == 201, started.text
    return started.json()["id"]


async def alerts_of(gateway: httpx.AsyncClient, alert_type: str, pipeline_id: int) -> list[dict[str, Any]]:
    answer = await gateway.get("/alerts", params={"alert_type": alert_type, "pipeline_id": pipeline_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


async def check_until_alerted(gateway: httpx.AsyncClient, alert_type: str, pipeline_id: int) -> None:
    """Ask for the check again and again until the pipeline's alert shows (the copies of pipeline settings and
    executions reach quality-alerting through Kafka, so the first checks may run before they do)."""

    async def alerted() -> None:
        path, body = (
            ("/freshness", None) if alert_type == "freshness" else ("/timeliness", {"lookback_minutes": 60})
        )
        queued = await gateway.post(path, json=body)
        assert (queued.status_code, queued.json()) == (200, {"status": "queued"})
        assert await alerts_of(gateway, alert_type, pipeline_id), (
            f"no {alert_type} alert for {pipeline_id} yet"
        )

    await eventually(alerted, timeout=60, interval=1.0)


async def test_stale_and_late_alert_exactly_once_and_muting_silences(
    system: Stack, gateway: httpx.AsyncClient
) -> None:
    stale = await pipeline(gateway, "stale", freshness_number=5, freshness_datepart="minute")
    muted = await pipeline(gateway, "muted", freshness_number=5, freshness_datepart="minute")
    patched = await gateway.patch("/pipeline", json={"id": muted, "mute_freshness_check": True})
    assert patched.status_code == 200, patched.text
    late = await pipeline(gateway, "late", timeliness_number=5, timeliness_datepart="minute")
    for p in (stale, muted):
        await loaded_minutes_ago(gateway, p, 30)
    execution = await running_since(gateway, late, 20)

    await check_until_alerted(gateway, "freshness", stale)
    await check_until_alerted(gateway, "timeliness", late)

    # A second round with fresh markers proves the checks ran again after the first alerts.
    marker = await pipeline(gateway, "marker", freshness_number=5, freshness_datepart="minute")
    await loaded_minutes_ago(gateway, marker, 30)
    late_marker = await pipeline(gateway, "late marker", timeliness_number=5, timeliness_datepart="minute")
    await running_since(gateway, late_marker, 20)
    await check_until_alerted(gateway, "freshness", marker)
    await check_until_alerted(gateway, "timeliness", late_marker)

    [stale_alert] = await alerts_of(gateway, "freshness", stale)
    assert stale_alert["severity"] == "warning"
    assert stale_alert["body"]["freshness_number"] == 5
    [late_alert] = await alerts_of(gateway, "timeliness", late)
    assert late_alert["execution_id"] == execution
    assert await alerts_of(gateway, "freshness", muted) == []


async def test_log_cleanup_validates_and_answers_the_six_counts(
    system: Stack, gateway: httpx.AsyncClient
) -> None:
    too_short = await gateway.post("/log_cleanup", json={"retention_days": 89})
    assert too_short.status_code == 422
    answer = await gateway.post("/log_cleanup", json={"retention_days": 36500, "batch_size": 500})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "total_pipeline_executions_deleted": 0,
        "total_timeliness_pipeline_execution_logs_deleted": 0,
        "total_anomaly_detection_results_deleted": 0,
        "total_pipeline_execution_closure_parent_deleted": 0,
        "total_pipeline_execution_closure_child_deleted": 0,
        "total_freshness_pipeline_logs_deleted": 0,
    }

    # Runs of 1990 are older than any other test's: a cleanup deletes exactly them, in several batches.
    p = await pipeline(gateway, "retention")
    old = datetime(1990, 6, 1, tzinfo=UTC)
    parent = (
        await gateway.post("/start_pipeline_execution", json={"pipeline_id": p, "start_date": iso(old)})
    ).json()
    child = await gateway.post(
        "/start_pipeline_execution",
        json={"pipeline_id": p, "start_date": iso(old), "parent_id": parent["id"]},
    )
    assert child.status_code == 201
    retention_days = (datetime.now(UTC) - datetime(1991, 1, 1, tzinfo=UTC)).days
    cleaned = await gateway.post("/log_cleanup", json={"retention_days": retention_days, "batch_size": 1})
    counts = cleaned.json()
    assert counts["total_pipeline_executions_deleted"] == 2
    assert (
        counts["total_pipeline_execution_closure_parent_deleted"]
        + counts["total_pipeline_execution_closure_child_deleted"]
        == 3
    )
    assert (await gateway.get(f"/pipeline_execution/{parent['id']}")).status_code == 404
