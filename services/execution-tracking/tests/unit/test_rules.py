"""The Watcher's rules as its clients rely on them: strings stripped and lower-cased except watermarks,
durations and throughput, request digests, nesting of runs, SLO settings."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from headwater.common.errors import Invalid
from headwater.execution_tracking.domain.records import ExecutionRecord, PipelineWithType, SloSettings
from headwater.execution_tracking.domain.rules import (
    duration_seconds,
    normalise,
    recorded_at,
    request_digest,
    throughput,
    watermark_text,
)
from headwater.execution_tracking.service_layer.executions import nest
from headwater.execution_tracking.service_layer.pipelines import check_settings, effective_slo
from headwater.execution_tracking.testing import NEW_PIPELINE, NO_SLO

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_strings_are_stripped_and_lowercased_except_watermarks() -> None:
    out = normalise(
        {
            "name": "  My Pipe ",
            "watermark": " W1 ",
            "next_watermark": "Next",
            "pipeline_metadata": {"A": " B "},
        }
    )
    assert out == {
        "name": "my pipe",
        "watermark": " W1 ",
        "next_watermark": "Next",
        "pipeline_metadata": {"A": " B "},
    }


def test_watermarks_are_stored_as_text() -> None:
    assert watermark_text(20240101) == "20240101"
    assert watermark_text("2024-01-01") == "2024-01-01"
    assert watermark_text(None) is None


def test_hour_and_date_recorded_are_utc() -> None:
    local = datetime(2024, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert recorded_at(local) == (4, date(2024, 1, 2))
    assert recorded_at(datetime(2024, 1, 1, 10, 0)) == (10, date(2024, 1, 1))  # naive is UTC


@pytest.mark.parametrize(
    ("seconds", "expected"), [(300, 300), (0, 0), (0.4, 0), (1.6, 2), (299.5, 300), (300.5, 300)]
)
def test_duration_is_whole_seconds_rounded(seconds: float, expected: int) -> None:
    assert duration_seconds(T0, T0 + timedelta(seconds=seconds)) == expected


def test_throughput_rounded_to_four_decimals_zero_for_zero_duration_none_without_rows() -> None:
    assert throughput(1000, 300) == 3.3333
    assert throughput(500, 120) == 4.1667
    assert throughput(1000, 0) == 0.0
    assert throughput(None, 300) is None


def test_request_digest_is_stable_and_order_independent() -> None:
    a = request_digest({"name": "p", "pipeline_metadata": {"x": 1, "y": [1, 2]}})
    b = request_digest({"pipeline_metadata": {"y": [1, 2], "x": 1}, "name": "p"})
    assert a == b
    assert (
        a == "c43bf2296b80dadf67d801f54daabb8c281bdb6b1436138ce973b219bb8811f7"
    )  # the same in every process, unlike hash()
    assert request_digest({"name": "q"}) != a


@pytest.mark.parametrize(
    "fields",
    [
        {"freshness_number": 2},
        {"timeliness_datepart": "hour"},
        {"freshness_number": 2, "freshness_datepart": "fortnight"},
        {"freshness_number": 0, "freshness_datepart": "day"},
        {"next_watermark": "x" * 51},
    ],
)
def test_invalid_settings_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        check_settings(fields)


def test_dateparts_are_case_insensitive() -> None:
    assert (
        check_settings({"freshness_number": 2, "freshness_datepart": " HOUR "})["freshness_datepart"]
        == "hour"
    )


def test_pipeline_settings_win_over_type_settings_and_either_mute_mutes() -> None:
    pipeline = PipelineWithType(
        **{**NEW_PIPELINE, "timeliness_number": 2, "timeliness_datepart": "hour"},
        id=1,
        name="p",
        pipeline_type_id=1,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        updated_at=None,
        type_name="t",
        type_settings=SloSettings(
            **{
                **NO_SLO,
                "freshness_number": 24,
                "freshness_datepart": "hour",
                "mute_freshness_check": True,
                "timeliness_number": 1,
                "timeliness_datepart": "day",
            }
        ),
    )
    slo = effective_slo(pipeline)
    assert (slo.freshness_number, slo.freshness_datepart, slo.mute_freshness_check) == (24, "hour", True)
    assert (slo.timeliness_number, slo.timeliness_datepart, slo.mute_timeliness_check) == (2, "hour", False)


def test_nest_builds_the_hierarchy_from_closure_rows() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def execution(execution_id: int, parent_id: int | None) -> ExecutionRecord:
        return ExecutionRecord(
            id=execution_id,
            pipeline_id=1,
            parent_id=parent_id,
            run_id=None,
            start_date=start,
            watermark=None,
            next_watermark=None,
            hour_recorded=0,
            date_recorded=start.date(),
        )

    rows = [execution(1, None), execution(2, 1), execution(5, 1), execution(3, 2), execution(4, 3)]
    tree = nest(rows)
    assert [c["id"] for c in tree["child_executions"]] == [2, 5]
    assert tree["child_executions"][0]["child_executions"][0]["child_executions"][0]["id"] == 4
    assert tree["start_date"] == start
