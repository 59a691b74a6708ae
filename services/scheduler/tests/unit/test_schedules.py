"""Cron expressions, due times, the configured system schedules, reconciliation and the events of a firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater.common.events import ChecksRequested, RetentionRequested
from headwater.common.settings import load_settings
from headwater.scheduler.__main__ import main
from headwater.scheduler.bootstrap import bootstrap
from headwater.scheduler.clock import ManualClock
from headwater.scheduler.domain.schedules import (
    Change,
    InvalidSchedule,
    Kind,
    ScheduleSpec,
    StoredSchedule,
    event_for,
    missed_slots,
    next_due,
    parse_cron,
    reconcile,
    system_schedules,
)
from headwater.scheduler.settings import Settings

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 * * * *", T0, T0 + timedelta(hours=1)),  # strictly after: a due time is never due twice
        ("0 * * * *", T0 - timedelta(microseconds=1), T0),
        ("0 * * * *", T0 + timedelta(seconds=59, microseconds=1), T0 + timedelta(hours=1)),
        ("*/15 * * * *", T0 + timedelta(minutes=7), T0 + timedelta(minutes=15)),
        ("*/5 * * * *", T0 + timedelta(minutes=59), T0 + timedelta(hours=1)),
        ("30 3 * * *", T0, datetime(2024, 1, 2, 3, 30, tzinfo=UTC)),
        ("30 3 * * *", datetime(2024, 1, 1, 3, 0, tzinfo=UTC), datetime(2024, 1, 1, 3, 30, tzinfo=UTC)),
        ("@hourly", T0, T0 + timedelta(hours=1)),
        ("* * * * * *", T0, T0 + timedelta(seconds=1)),  # six fields: seconds last
        ("* * * * * */10", T0 + timedelta(seconds=3), T0 + timedelta(seconds=10)),
    ],
)
def test_next_due_is_the_first_slot_strictly_after(cron: str, after: datetime, expected: datetime) -> None:
    due = next_due(cron, after)
    assert due == expected
    assert due.tzinfo is not None
    assert due.utcoffset() == timedelta(0)


def test_next_due_is_computed_in_utc_whatever_the_offset_given() -> None:
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    assert next_due("30 3 * * *", paris) == datetime(2024, 1, 2, 3, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_due("0 * * * *", datetime(2024, 1, 1, 10, 0))


@pytest.mark.parametrize(
    ("due_at", "now", "missed"),
    [
        (T0, T0, 0),
        (T0, T0 + timedelta(minutes=59), 0),
        (T0, T0 + timedelta(hours=1), 1),
        (T0, T0 + timedelta(hours=5, minutes=30), 5),
    ],
)
def test_missed_slots_count_the_later_slots_folded_into_one_firing(
    due_at: datetime, now: datetime, missed: int
) -> None:
    assert missed_slots("0 * * * *", due_at, now) == missed


def test_missed_slots_are_capped() -> None:
    assert missed_slots("* * * * * *", T0, T0 + timedelta(days=1), limit=50) == 50


def test_parse_cron_normalises_whitespace() -> None:
    assert parse_cron("  */15   *  * * *\t", setting="X") == "*/15 * * * *"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("61 * * * *", "not a valid cron expression"),
        ("every hour", "not a valid cron expression"),
        ("* * *", "not a valid cron expression"),
        ("0 0 31 2 *", "is never due"),
        ("0 * * * * * * *", "not a valid cron expression"),
    ],
)
def test_invalid_cron_expressions_are_refused_naming_the_setting(expression: str, reason: str) -> None:
    with pytest.raises(InvalidSchedule) as info:
        parse_cron(expression, setting="HEADWATER_SCHEDULER_FRESHNESS_CRON")
    message = str(info.value)
    assert message.startswith(f"HEADWATER_SCHEDULER_FRESHNESS_CRON={expression!r}")
    assert reason in message
    assert "5 fields" in message


def test_the_default_system_schedules() -> None:
    specs = {s.name: s for s in system_schedules(Settings())}
    assert specs == {
        "freshness": ScheduleSpec("freshness", Kind.FRESHNESS, "0 * * * *"),
        "timeliness": ScheduleSpec(
            "timeliness", Kind.TIMELINESS, "*/15 * * * *", params={"lookback_minutes": 60}
        ),
        "retention": ScheduleSpec(
            "retention", Kind.RETENTION, "30 3 * * *", params={"retention_days": 90, "batch_size": 10000}
        ),
        "queue_monitor": ScheduleSpec("queue_monitor", Kind.QUEUE, "*/5 * * * *"),
    }


def test_schedules_are_configured_from_the_environment() -> None:
    settings = load_settings(
        Settings,
        "scheduler",
        {
            "HEADWATER_SCHEDULER_FRESHNESS_CRON": "off",
            "HEADWATER_SCHEDULER_TIMELINESS_CRON": "*/10 * * * *",
            "HEADWATER_SCHEDULER_TIMELINESS_LOOKBACK_MINUTES": "30",
            "HEADWATER_SCHEDULER_RETENTION_DAYS": "365",
            "HEADWATER_SCHEDULER_RETENTION_BATCH_SIZE": "500",
        },
    )
    specs = {s.name: s for s in system_schedules(settings)}
    assert not specs["freshness"].enabled
    assert specs["timeliness"].cron == "*/10 * * * *"
    assert specs["timeliness"].params == {"lookback_minutes": 30}
    assert specs["retention"].params == {"retention_days": 365, "batch_size": 500}


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("timeliness_cron", "*/15 * * 13 *", "HEADWATER_SCHEDULER_TIMELINESS_CRON='*/15 * * 13 *'"),
        ("retention_cron", "nope", "HEADWATER_SCHEDULER_RETENTION_CRON='nope'"),
        ("queue_monitor_cron", "* * * * 8", "HEADWATER_SCHEDULER_QUEUE_MONITOR_CRON"),
        (
            "timeliness_lookback_minutes",
            4,
            "HEADWATER_SCHEDULER_TIMELINESS_LOOKBACK_MINUTES=4 must be at least 5",
        ),
        ("retention_days", 30, "HEADWATER_SCHEDULER_RETENTION_DAYS=30 must be at least 90"),
        ("retention_batch_size", 0, "HEADWATER_SCHEDULER_RETENTION_BATCH_SIZE=0 must be at least 1"),
    ],
)
def test_bad_schedule_settings_fail_bootstrap_naming_the_setting(
    setting: str, value: object, message: str
) -> None:
    settings = Settings(log_json=False, **{setting: value})  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidSchedule, match=message.replace("*", r"\*")):
        bootstrap(settings)


def test_the_command_line_refuses_to_start_with_a_bad_cron(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEADWATER_SCHEDULER_FRESHNESS_CRON", "0 25 * * *")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration: HEADWATER_SCHEDULER_FRESHNESS_CRON='0 25 * * *'" in err


# -- reconciliation ---------------------------------------------------------------------------------------------


def stored(spec: ScheduleSpec, next_due_at: datetime, *, enabled: bool = True) -> StoredSchedule:
    return StoredSchedule(spec.name, spec.kind.value, spec.cron, dict(spec.params), enabled, next_due_at)


HOURLY = ScheduleSpec("freshness", Kind.FRESHNESS, "0 * * * *")
LATE = ScheduleSpec("timeliness", Kind.TIMELINESS, "*/15 * * * *", params={"lookback_minutes": 60})


def test_new_schedules_are_added_due_at_their_next_slot() -> None:
    plan = reconcile({}, [HOURLY, LATE], T0 + timedelta(minutes=20))
    assert [(p.name, p.change) for p in plan] == [("freshness", Change.ADDED), ("timeliness", Change.ADDED)]
    assert plan[0].values["next_due_at"] == T0 + timedelta(hours=1)
    assert plan[1].values["next_due_at"] == T0 + timedelta(minutes=30)
    assert plan[1].values["params"] == {"lookback_minutes": 60}


def test_unchanged_schedules_are_left_alone_even_when_overdue() -> None:
    rows = {"freshness": stored(HOURLY, T0), "timeliness": stored(LATE, T0)}
    assert reconcile(rows, [HOURLY, LATE], T0 + timedelta(days=3)) == []


def test_a_changed_cron_recomputes_the_next_due_time_and_releases_the_lease() -> None:
    now = T0 + timedelta(minutes=20)
    every_ten = ScheduleSpec("freshness", Kind.FRESHNESS, "*/10 * * * *")
    (step,) = reconcile({"freshness": stored(HOURLY, T0 + timedelta(hours=1))}, [every_ten], now)
    assert step.change is Change.RESCHEDULED
    assert step.values["cron"] == "*/10 * * * *"
    assert step.values["next_due_at"] == T0 + timedelta(minutes=30)
    assert step.release_lease


def test_changed_parameters_keep_the_next_due_time() -> None:
    longer = ScheduleSpec("timeliness", Kind.TIMELINESS, "*/15 * * * *", params={"lookback_minutes": 90})
    (step,) = reconcile({"timeliness": stored(LATE, T0)}, [longer], T0 + timedelta(minutes=5))
    assert step.change is Change.UPDATED
    assert step.values["params"] == {"lookback_minutes": 90}
    assert "next_due_at" not in step.values
    assert not step.release_lease


def test_disabled_and_removed_schedules_are_disabled_not_deleted() -> None:
    off = ScheduleSpec("freshness", Kind.FRESHNESS, "off", enabled=False)
    rows = {"freshness": stored(HOURLY, T0), "timeliness": stored(LATE, T0)}
    plan = reconcile(rows, [off], T0)
    assert [(p.name, p.change, p.values["enabled"]) for p in plan] == [
        ("freshness", Change.DISABLED, False),
        ("timeliness", Change.DISABLED, False),
    ]
    assert all("next_due_at" not in p.values for p in plan)
    # once disabled, nothing more to do
    rows = {"freshness": stored(off, T0, enabled=False), "timeliness": stored(LATE, T0, enabled=False)}
    assert reconcile(rows, [off], T0) == []


def test_a_schedule_enabled_again_is_due_at_its_next_slot_not_at_its_stale_one() -> None:
    now = T0 + timedelta(days=2, minutes=1)
    (step,) = reconcile({"freshness": stored(HOURLY, T0, enabled=False)}, [HOURLY], now)
    assert step.change is Change.RESCHEDULED
    assert step.values["next_due_at"] == T0 + timedelta(days=2, hours=1)


# -- events -----------------------------------------------------------------------------------------------------


def test_a_check_schedule_fires_checks_requested() -> None:
    event = event_for("timeliness", Kind.TIMELINESS, {"lookback_minutes": 60}, T0)
    assert isinstance(event, ChecksRequested)
    assert (event.check, event.lookback_minutes, event.schedule, event.due_at) == (
        "timeliness",
        60,
        "timeliness",
        T0,
    )
    assert event.key == b"timeliness"
    queue = event_for("queue_monitor", Kind.QUEUE, {}, T0)
    assert isinstance(queue, ChecksRequested)
    assert (queue.check, queue.lookback_minutes, queue.schedule) == ("queue", None, "queue_monitor")


def test_the_retention_schedule_fires_retention_requested_with_its_cutoff() -> None:
    event = event_for("retention", Kind.RETENTION, {"retention_days": 90, "batch_size": 10000}, T0)
    assert isinstance(event, RetentionRequested)
    assert event.cutoff == T0 - timedelta(days=90)
    assert (event.retention_days, event.batch_size, event.schedule) == (90, 10000, "retention")
    assert event.key == b"retention"


def test_the_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock() == T0
    assert clock.advance(timedelta(minutes=5)) == clock() == T0 + timedelta(minutes=5)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2024, 1, 1))
