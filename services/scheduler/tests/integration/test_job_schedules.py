"""Jobs' schedules on the real Postgres: kept from `job.changed` (added, rescheduled, disabled, removed; stale
and redelivered changes ignored), fired once as `job.run.requested` by replicas side by side, made due now over
the internal API; the system schedules' reconciliation leaves them alone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from headwater.common.events import JobChanged, JobRunRequested
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls
from headwater.scheduler.clock import ManualClock
from headwater.scheduler.domain.schedules import Kind, ScheduleSpec, next_due
from headwater.scheduler.entrypoints.http.app import create_app
from headwater.scheduler.entrypoints.schedule_loop import ScheduleLoop
from headwater.scheduler.service_layer.schedules import apply_job_changes
from headwater.scheduler.testing import NewContainer, NewDatabase, firings, outbox_events, schedule_rows

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)
SYSTEM = [ScheduleSpec("freshness", Kind.FRESHNESS, "0 0 1 1 *")]


def change(version: int, **fields: object) -> JobChanged:
    return JobChanged(job="sensor-7", version=version, data_source_id=7, **fields)  # pyright: ignore[reportArgumentType]


async def test_a_job_schedule_follows_its_changes_and_fires_once(
    new_database: NewDatabase, new_container: NewContainer, stack: Stack
) -> None:
    dsn, clock = await new_database(), ManualClock(T0)
    c = await new_container(dsn, clock)
    a, b = (
        ScheduleLoop(c.uow_factory, schedules=SYSTEM, clock=clock, owner=o, poll_seconds=0.01)
        for o in ("replica-a", "replica-b")
    )
    await a.reconcile()

    added = change(1, cron="*/5 * * * *")
    assert await apply_job_changes(c.uow_factory(), [added], clock()) == []
    row = (await schedule_rows(dsn))["sensor-7"]
    assert (row["kind"], row["cron"], row["enabled"]) == ("sensor", "*/5 * * * *", True)
    assert json.loads(row["params"]) == {"version": 1, "data_source_id": 7}
    assert row["next_due_at"] == next_due("*/5 * * * *", T0)

    # the system schedules' reconciliation (a replica starting) leaves a job's schedule as it is
    await b.reconcile()
    assert (await schedule_rows(dsn))["sensor-7"]["enabled"]

    clock.set(T0 + timedelta(minutes=5))
    fired_a, fired_b = await asyncio.gather(a.run_once(), b.run_once())
    assert [f.name for f in fired_a + fired_b] == ["sensor-7"]
    events = [e for e in await outbox_events(dsn) if isinstance(e, JobRunRequested)]
    assert [(e.job, e.kind, e.data_source_id, e.due_at) for e in events] == [
        ("sensor-7", "sensor", 7, next_due("*/5 * * * *", T0))
    ]

    # redelivered, or older than what was applied: nothing changes
    await apply_job_changes(c.uow_factory(), [added, change(1, cron="* * * * *")], clock())
    assert (await schedule_rows(dsn))["sensor-7"]["cron"] == "*/5 * * * *"

    await apply_job_changes(c.uow_factory(), [change(2, cron="0 * * * *")], clock())
    row = (await schedule_rows(dsn))["sensor-7"]
    assert (row["cron"], row["next_due_at"]) == ("0 * * * *", next_due("0 * * * *", clock()))

    # made due now over the internal API: fired at the next look, once
    # the test client runs the app on a loop of its own: it gets a container (and a pool) of its own
    async with AsyncTestClient(create_app(await new_container(dsn, clock))) as client:
        client.auth = SignedCalls(stack.internal_signing_key)
        r = await client.post("/schedules/sensor-7/run-now")
        assert r.status_code == 200, r.text
        assert r.json()["due_at"].startswith(clock().isoformat()[:19])
        missing = await client.post("/schedules/sensor-8/run-now")
        assert missing.status_code == 404
        system = await client.post("/schedules/freshness/run-now")
        assert system.status_code == 404
        assert [f.name for f in await a.run_once()] == ["sensor-7"]
        assert await a.run_once() == []

        await apply_job_changes(c.uow_factory(), [change(3, cron="0 * * * *", enabled=False)], clock())
        assert not (await schedule_rows(dsn))["sensor-7"]["enabled"]
        disabled = await client.post("/schedules/sensor-7/run-now")
        assert disabled.status_code == 409
    clock.set(clock() + timedelta(hours=3))
    assert await a.run_once() == []

    bad = await apply_job_changes(c.uow_factory(), [change(4, cron="61 * * * *")], clock())
    assert len(bad) == 1
    assert "not a valid cron" in bad[0].reason

    await apply_job_changes(c.uow_factory(), [change(5, removed=True, enabled=False)], clock())
    assert "sensor-7" not in await schedule_rows(dsn)
    assert all(f["schedule_name"] != "sensor-7" for f in await firings(dsn))
