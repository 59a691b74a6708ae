"""What a `job.changed` does to its job's schedule, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.common.events import JobChanged, JobRunRequested
from headwater.scheduler.domain.schedules import (
    Change,
    InvalidSchedule,
    Kind,
    ScheduleSpec,
    StoredSchedule,
    event_for,
    job_schedule,
    next_due,
    reconcile,
)

NOW = datetime(2026, 12, 1, 10, 2, tzinfo=UTC)


def stored(cron: str = "*/5 * * * *", *, version: int = 1, enabled: bool = True) -> StoredSchedule:
    params = {"version": version, "data_source_id": 7}
    return StoredSchedule("sensor-7", "sensor", cron, params, enabled, next_due(cron, NOW))


def change(version: int, **fields: object) -> JobChanged:
    return JobChanged(job="sensor-7", version=version, data_source_id=7, **fields)  # pyright: ignore[reportArgumentType]


def test_changes_add_reschedule_update_disable_and_remove() -> None:
    added = job_schedule(change(1, cron="*/5 * * * *"), None, NOW)
    assert added is not None
    assert added.change is Change.ADDED
    assert added.values["next_due_at"] == datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
    assert added.values["params"] == {"version": 1, "data_source_id": 7}

    rescheduled = job_schedule(change(2, cron="0 * * * *"), stored(), NOW)
    assert rescheduled is not None
    assert (rescheduled.change, rescheduled.release_lease) == (Change.RESCHEDULED, True)
    assert rescheduled.values["next_due_at"] == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)

    updated = job_schedule(change(2, cron="*/5 * * * *"), stored(), NOW)
    assert updated is not None
    assert updated.change is Change.UPDATED
    assert "next_due_at" not in updated.values

    for disabling in (change(2, cron="*/5 * * * *", enabled=False), change(2)):
        step = job_schedule(disabling, stored(), NOW)
        assert step is not None
        assert (step.change, step.values["enabled"]) == (Change.DISABLED, False)

    removed = job_schedule(change(2, removed=True, enabled=False), stored(), NOW)
    assert removed is not None
    assert removed.change is Change.REMOVED
    assert job_schedule(change(2, removed=True), None, NOW) is None


def test_an_old_or_repeated_change_does_nothing_and_a_bad_cron_says_why() -> None:
    assert job_schedule(change(3, cron="* * * * *"), stored(version=3), NOW) is None
    assert job_schedule(change(2, cron="* * * * *"), stored(version=3), NOW) is None
    with pytest.raises(InvalidSchedule, match="not a valid cron"):
        job_schedule(change(4, cron="* * *"), stored(), NOW)


def test_reconciling_the_system_schedules_leaves_job_schedules_alone() -> None:
    wanted = [ScheduleSpec("freshness", Kind.FRESHNESS, "0 * * * *")]
    plan = reconcile({"sensor-7": stored()}, wanted, NOW)
    assert [step.name for step in plan] == ["freshness"]


def test_a_sync_job_is_scheduled_like_a_sensor_and_fires_with_its_job_id() -> None:
    event = JobChanged(job="sync-3", kind="sync", version=1, cron="*/1 * * * *", job_id=3)
    added = job_schedule(event, None, NOW)
    assert added is not None
    assert (added.values["kind"], added.values["params"]) == ("sync", {"version": 1, "job_id": 3})
    fired = event_for("sync-3", Kind.SYNC, added.values["params"], NOW)  # pyright: ignore[reportArgumentType]
    assert isinstance(fired, JobRunRequested)
    assert (fired.job, fired.kind, fired.job_id, fired.data_source_id, fired.schedule) == (
        "sync-3",
        "sync",
        3,
        None,
        "sync-3",
    )
