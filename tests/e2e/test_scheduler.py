"""The scheduler end to end: Watcher check requests through the gateway arrive on Kafka as `checks.requested`,
bad lookbacks are refused, and the worker's system schedules are listed through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from headwater.common.testing import TopicCollector, eventually
from headwater.common.testing.kafka import Received
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def checks(system: Stack) -> AsyncIterator[TopicCollector]:
    """Every `checks.requested` message from now on, read as any outside consumer would."""
    collector = await TopicCollector(system.kafka_bootstrap, ["checks.requested"]).start()
    yield collector
    await collector.stop()


def asked_over_the_api(check: str, lookback: int | None = None) -> Callable[[Received], bool]:
    def matches(m: Received) -> bool:
        body = m.json()
        return (body["check"], body["lookback_minutes"], body["schedule"]) == (check, lookback, None)

    return matches


async def test_a_timeliness_check_asked_through_the_gateway_reaches_kafka(
    gateway: httpx.AsyncClient, checks: TopicCollector
) -> None:
    r = await gateway.post("/timeliness", json={"lookback_minutes": 30})
    assert (r.status_code, r.json()) == (200, {"status": "queued"})
    (message, *_) = await checks.wait_for(asked_over_the_api("timeliness", 30))
    assert message.key == b"timeliness"
    assert message.headers["ce_type"] == b"checks.requested.v1"
    assert message.headers["ce_source"] == b"headwater/scheduler"
    assert message.json()["type"] == "checks.requested.v1"


async def test_a_lookback_under_five_minutes_is_refused_with_422(
    gateway: httpx.AsyncClient, checks: TopicCollector
) -> None:
    r = await gateway.post("/timeliness", json={"lookback_minutes": 2})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "lookback_minutes"]
    r = await gateway.post("/timeliness", json={"lookback_minutes": 7})  # a marker sent after the refused one
    assert r.status_code == 200
    await checks.wait_for(asked_over_the_api("timeliness", 7))
    assert not [m for m in checks.messages if m.json()["lookback_minutes"] == 2]


async def test_freshness_and_the_queue_monitor_reach_kafka(
    gateway: httpx.AsyncClient, checks: TopicCollector
) -> None:
    r = await gateway.post("/freshness")
    assert (r.status_code, r.json()) == (200, {"status": "queued"})
    r = await gateway.post("/celery/monitor-queue")
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    await checks.wait_for(asked_over_the_api("freshness"))
    await checks.wait_for(asked_over_the_api("queue"))


SYSTEM_SCHEDULES = ["freshness", "queue_monitor", "retention", "timeliness"]


async def test_the_system_schedules_are_listed_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    async def reconciled() -> list[dict[str, object]]:
        r = await gateway.get("/api/v1/schedules")
        assert r.status_code == 200
        # jobs' schedules (sensors `sensor-<id>`, syncs `sync-<id>`) live beside the system ones; other tests make them
        listed = [s for s in r.json() if s["name"] in SYSTEM_SCHEDULES]
        assert [s["name"] for s in listed] == SYSTEM_SCHEDULES
        return listed

    listed = {
        s["name"]: s for s in await eventually(reconciled, timeout=30)
    }  # the worker reconciles at start
    assert {name: (s["cron"], s["enabled"]) for name, s in listed.items()} == {
        "freshness": ("0 * * * *", True),
        "queue_monitor": ("*/5 * * * *", True),
        "retention": ("30 3 * * *", True),
        "timeliness": ("*/15 * * * *", True),
    }
    for s in listed.values():
        due = datetime.fromisoformat(str(s["next_due_at"]))
        assert due.tzinfo is not None
        assert due.astimezone(UTC).second == 0
