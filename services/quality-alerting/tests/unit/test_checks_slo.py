"""Calendar arithmetic on dateparts and the wording and keys of freshness and timeliness alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from headwater.quality_alerting.domain.slo import (
    LateExecution,
    StalePipeline,
    add_dateparts,
    describe,
    late_execution_alert,
    stale_pipeline_alert,
)

T = datetime(2024, 3, 10, 1, 30, tzinfo=UTC)
ORDERS = {"pipeline_id": 7, "pipeline_name": "orders_load", "pipeline_type_id": 3}  # the pipeline alerted on


@pytest.mark.parametrize(
    ("moment", "number", "datepart", "expected"),
    [
        (T, 90, "minute", T + timedelta(minutes=90)),
        (T, 25, "hour", T + timedelta(hours=25)),
        (T, 2, "day", T + timedelta(days=2)),
        (T, 3, "week", T + timedelta(days=21)),
        (T, 1, "month", datetime(2024, 4, 10, 1, 30, tzinfo=UTC)),
        # months clamp to the month's last day, leap years included
        (datetime(2024, 1, 31, 12, tzinfo=UTC), 1, "month", datetime(2024, 2, 29, 12, tzinfo=UTC)),
        (datetime(2023, 1, 31, 12, tzinfo=UTC), 1, "month", datetime(2023, 2, 28, 12, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 1, "month", datetime(2024, 4, 30, tzinfo=UTC)),
        (datetime(2024, 11, 30, tzinfo=UTC), 3, "month", datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 12, 15, tzinfo=UTC), 1, "month", datetime(2025, 1, 15, tzinfo=UTC)),
        (datetime(2024, 5, 31, tzinfo=UTC), 13, "month", datetime(2025, 6, 30, tzinfo=UTC)),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), 1, "year", datetime(2025, 2, 28, 8, tzinfo=UTC)),
        (datetime(2024, 2, 29, 8, tzinfo=UTC), 4, "year", datetime(2028, 2, 29, 8, tzinfo=UTC)),
        (datetime(2023, 7, 1, tzinfo=UTC), 2, "year", datetime(2025, 7, 1, tzinfo=UTC)),
    ],
)
def test_add_dateparts_is_calendar_arithmetic(
    moment: datetime, number: int, datepart: str, expected: datetime
) -> None:
    assert add_dateparts(moment, number, datepart) == expected


def test_add_dateparts_works_in_utc_whatever_the_offset() -> None:
    # 23:30 on Jan 31 at UTC-2 is 01:30 on Feb 1 in UTC: a month later is 01:30 on Mar 1 UTC.
    moment = datetime(2024, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    result = add_dateparts(moment, 1, "month")
    assert result == datetime(2024, 3, 1, 1, 30, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


def test_add_dateparts_refuses_naive_times_and_unknown_dateparts() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_dateparts(datetime(2024, 1, 1), 1, "day")
    with pytest.raises(ValueError, match="unknown datepart 'fortnight'"):
        add_dateparts(T, 1, "fortnight")


def test_describe_pluralises() -> None:
    assert (describe(1, "hour"), describe(3, "day")) == ("1 hour", "3 days")


def test_stale_pipeline_alert_names_the_pipeline_and_the_times() -> None:
    last = datetime(2024, 3, 1, 10, tzinfo=UTC)
    due = datetime(2024, 3, 3, 10, tzinfo=UTC)
    draft = stale_pipeline_alert(
        StalePipeline(**ORDERS, last_dml_at=last, due_at=due, freshness_number=2, freshness_datepart="day")
    )
    assert (draft.alert_type, draft.severity) == ("freshness", "warning")
    assert draft.dedup_key == "freshness:7:2024-03-01T10:00:00+00:00"
    assert draft.condition_key == "freshness:7"
    assert (draft.pipeline_id, draft.pipeline_name, draft.pipeline_type_id, draft.execution_id) == (
        7,
        "orders_load",
        3,
        None,
    )
    assert "'orders_load' is stale" in draft.msg
    assert "2024-03-01T10:00:00+00:00" in draft.msg
    assert "2 days" in draft.msg
    assert "2024-03-03T10:00:00+00:00" in draft.msg
    assert draft.body == {
        **ORDERS,
        "last_dml_at": "2024-03-01T10:00:00+00:00",
        "due_at": "2024-03-03T10:00:00+00:00",
        "freshness_number": 2,
        "freshness_datepart": "day",
    }


def test_the_dedup_key_of_a_stale_dml_does_not_depend_on_the_offset_it_is_given_in() -> None:
    def key(last: datetime) -> str:
        return stale_pipeline_alert(
            StalePipeline(
                **ORDERS, last_dml_at=last, due_at=last, freshness_number=1, freshness_datepart="day"
            )
        ).dedup_key

    utc = datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert key(utc) == key(utc.astimezone(timezone(timedelta(hours=5))))


def test_late_execution_alerts_say_whether_the_run_is_still_running_or_finished_late() -> None:
    start = datetime(2024, 3, 1, 10, tzinfo=UTC)
    common = {
        **ORDERS,
        "execution_id": 42,
        "start_date": start,
        "due_at": start + timedelta(hours=1),
        "timeliness_number": 1,
        "timeliness_datepart": "hour",
    }
    running = late_execution_alert(LateExecution(status="running", end_date=None, **common))  # type: ignore[arg-type]
    finished = late_execution_alert(
        LateExecution(
            status="succeeded",
            end_date=start + timedelta(hours=3),
            **common,  # type: ignore[arg-type]
        )
    )
    assert running.dedup_key == finished.dedup_key == "timeliness:42"
    assert running.condition_key == "timeliness:7"
    assert running.execution_id == 42
    assert "Execution 42 of pipeline 'orders_load' is still running" in running.msg
    assert "finished late" in finished.msg
    assert "2024-03-01T13:00:00+00:00" in finished.msg
    assert finished.body == {
        **ORDERS,
        "execution_id": 42,
        "status": "succeeded",
        "start_date": "2024-03-01T10:00:00+00:00",
        "end_date": "2024-03-01T13:00:00+00:00",
        "due_at": "2024-03-01T11:00:00+00:00",
        "timeliness_number": 1,
        "timeliness_datepart": "hour",
    }
    assert running.body["end_date"] is None
