"""Anomaly detection rules as the Watcher reference defines them: a z-score range over a baseline sample; the
stored rules, the sample each is judged on and the anomalous results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import msgspec

from headwater.common.contracts.watcher import AnomalyDetectionRule
from headwater.common.events import AnomalousMetric

METRICS = ("duration_seconds", "inserts", "updates", "soft_deletes", "total_rows", "throughput")
SEASONALITIES = ("hour", "hour_of_week")
DIRECTIONS = ("both", "spike", "drop")


class RuleViolation(ValueError):
    """A rule field outside what the rules allow (the caller answers 422)."""


def normalise_rule(fields: dict[str, Any]) -> dict[str, Any]:
    """Strip and lower-case the string fields, as every Watcher string is, and check their values."""
    out = {k: v.strip().lower() if isinstance(v, str) else v for k, v in fields.items()}
    for name, allowed in (
        ("metric_field", METRICS),
        ("seasonality", SEASONALITIES),
        ("direction", DIRECTIONS),
    ):
        if name in out and out[name] not in allowed:
            raise RuleViolation(f"{name} must be one of {', '.join(allowed)}; got {out[name]!r}")
    return out


def metric_fields(values: list[str]) -> list[str]:
    """The metric names of an unflag request, normalised and checked."""
    return [normalise_rule({"metric_field": v})["metric_field"] for v in values]


@dataclass(frozen=True)
class Baseline:
    count: int
    mean: float | None
    stddev: float | None  # sample standard deviation


@dataclass(frozen=True)
class Verdict:
    value: float
    mean: float
    stddev: float
    z_score: float
    threshold_min: float
    threshold_max: float
    anomalous: bool


def evaluate(
    value: float | None,
    baseline: Baseline,
    *,
    z_threshold: float,
    minimum_executions: int,
    direction: str = "both",
) -> Verdict | None:
    """The verdict on `value`, or None when the rule cannot judge it: no value, fewer than
    `minimum_executions` baseline runs, or a baseline without spread (sample standard deviation 0).

    Range = [max(0, mean - z*sd), mean + z*sd]; anomalous when outside it (above only for `spike`, below only
    for `drop`). z_score = (value - mean) / sd.
    """
    if value is None or baseline.count < minimum_executions or baseline.mean is None:
        return None
    sd = baseline.stddev
    if sd is None or sd == 0 or math.isnan(sd):
        return None
    low = max(0.0, baseline.mean - z_threshold * sd)
    high = baseline.mean + z_threshold * sd
    above, below = value > high, value < low
    anomalous = (above and direction != "drop") or (below and direction != "spike")
    return Verdict(
        value=float(value),
        mean=baseline.mean,
        stddev=sd,
        z_score=(value - baseline.mean) / sd,
        threshold_min=low,
        threshold_max=high,
        anomalous=anomalous,
    )


class AnomalyRule(AnomalyDetectionRule, frozen=True, kw_only=True):
    """A stored anomaly detection rule, one per (pipeline, metric): the fields the API answers with."""


class RuleSample(msgspec.Struct, frozen=True, kw_only=True):
    """An active rule of an ended execution: the execution's value of the rule's metric and its baseline (`n`
    successful runs of the same pipeline at the same hour, and day of week for `hour_of_week`, within the
    rule's lookback, not flagged for this metric; `sd` their sample standard deviation)."""

    rule_id: int
    execution_id: int
    pipeline_id: int
    metric_field: str
    z_threshold: float
    lookback_days: int
    minimum_executions: int
    seasonality: str
    direction: str
    hour_recorded: int
    day_of_week: int
    value: float | None
    n: int
    mean: float | None
    sd: float | None


class AnomalyResult(AnomalousMetric, frozen=True, kw_only=True):
    """An anomalous metric of an execution, as stored (once per execution and metric): the statistics
    `anomaly.detected` lists, the rule that found it and what its baseline was."""

    rule_id: int
    pipeline_id: int
    execution_id: int
    context: dict[str, Any]

    def metric(self) -> AnomalousMetric:
        """The statistics alone, as `anomaly.detected` lists them."""
        return AnomalousMetric(**{name: getattr(self, name) for name in AnomalousMetric.__struct_fields__})
