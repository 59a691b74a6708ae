"""The z-score rule of the Watcher reference, and the rule fields' checks."""

from __future__ import annotations

import statistics

import pytest

from headwater.quality_alerting.domain.anomaly import (
    Baseline,
    RuleViolation,
    evaluate,
    metric_fields,
    normalise_rule,
)

SAMPLE = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0]
BASE = Baseline(count=len(SAMPLE), mean=statistics.mean(SAMPLE), stddev=statistics.stdev(SAMPLE))


def test_the_range_is_mean_plus_minus_z_sample_deviations() -> None:
    v = evaluate(100.0, BASE, z_threshold=3.0, minimum_executions=5)
    assert v is not None
    assert not v.anomalous
    sd = statistics.stdev(SAMPLE)
    assert v.stddev == pytest.approx(sd)
    assert v.threshold_min == pytest.approx(100 - 3 * sd)
    assert v.threshold_max == pytest.approx(100 + 3 * sd)


def test_outside_the_range_is_anomalous_with_its_z_score() -> None:
    sd = statistics.stdev(SAMPLE)
    high = evaluate(200.0, BASE, z_threshold=3.0, minimum_executions=5)
    low = evaluate(90.0, BASE, z_threshold=3.0, minimum_executions=5)
    assert high is not None
    assert high.anomalous
    assert high.z_score == pytest.approx(100 / sd)
    assert low is not None
    assert low.anomalous
    assert low.z_score == pytest.approx(-10 / sd)


def test_the_lower_bound_never_goes_below_zero() -> None:
    wide = Baseline(count=10, mean=10.0, stddev=20.0)
    v = evaluate(0.0, wide, z_threshold=3.0, minimum_executions=5)
    assert v is not None
    assert v.threshold_min == 0.0
    assert not v.anomalous


@pytest.mark.parametrize(
    ("baseline", "value"),
    [
        (Baseline(count=4, mean=100.0, stddev=1.0), 500.0),  # fewer than minimum_executions
        (Baseline(count=10, mean=100.0, stddev=0.0), 500.0),  # no spread
        (Baseline(count=10, mean=100.0, stddev=None), 500.0),  # a single value has no sample deviation
        (Baseline(count=0, mean=None, stddev=None), 500.0),  # empty baseline
        (BASE, None),  # the execution has no value for the metric
    ],
)
def test_no_verdict_without_a_usable_baseline_or_value(baseline: Baseline, value: float | None) -> None:
    assert evaluate(value, baseline, z_threshold=3.0, minimum_executions=5) is None


def test_direction_limits_which_side_is_anomalous() -> None:
    def anomalous(value: float, direction: str) -> bool:
        v = evaluate(value, BASE, z_threshold=3.0, minimum_executions=5, direction=direction)
        assert v is not None
        return v.anomalous

    assert anomalous(200, "both")
    assert anomalous(90, "both")
    assert anomalous(200, "spike")
    assert not anomalous(90, "spike")
    assert not anomalous(200, "drop")
    assert anomalous(90, "drop")


def test_rule_strings_are_normalised_and_checked() -> None:
    assert normalise_rule({"metric_field": " Total_Rows ", "direction": "SPIKE"}) == {
        "metric_field": "total_rows",
        "direction": "spike",
    }
    with pytest.raises(RuleViolation, match="metric_field must be one of"):
        normalise_rule({"metric_field": "rows"})
    with pytest.raises(RuleViolation, match="seasonality"):
        normalise_rule({"seasonality": "daily"})
    assert metric_fields(["INSERTS", "updates"]) == ["inserts", "updates"]
