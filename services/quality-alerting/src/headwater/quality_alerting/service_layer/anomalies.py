"""Use cases of anomaly detection: rules, detection on successful runs, unflagging."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Histogram

from headwater.common.errors import Conflict, Duplicate, Invalid, NotFound
from headwater.common.events import AnomalousMetric, AnomalyCleared, AnomalyDetected
from headwater.common.logging import get_logger
from headwater.common.records import project
from headwater.quality_alerting.domain.alerts import AlertDraft
from headwater.quality_alerting.domain.anomaly import (
    AnomalyResult,
    AnomalyRule,
    Baseline,
    RuleSample,
    RuleViolation,
    evaluate,
    metric_fields,
    normalise_rule,
)
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

ANOMALIES = Counter("headwater_anomalies_detected_total", "Anomalous metrics found", ["metric_field"])
EVALUATIONS = Counter(
    "headwater_anomaly_evaluations_total", "Rule evaluations on successful runs", ["outcome"]
)
DETECTION_SECONDS = Histogram(
    "headwater_anomaly_detection_seconds",
    "Time to evaluate every rule of a batch of ended executions",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    try:
        return normalise_rule(fields)
    except RuleViolation as exc:
        raise Invalid(str(exc)) from exc


async def upsert_rule(uow: UnitOfWork, fields: dict[str, Any]) -> tuple[int, bool]:
    """Get-or-create on (pipeline, metric): (id, created). An existing rule is returned unchanged."""
    values = _checked(fields)
    async with uow:
        rule_id = await uow.anomalies.insert_rule_if_absent(values)
        created = rule_id is not None
        if rule_id is None:
            rule_id = await uow.anomalies.rule_id(values["pipeline_id"], values["metric_field"])
            assert rule_id is not None
        await uow.commit()
    if created:
        log.info("anomaly_rule_created", rule_id=rule_id, **values)
    return rule_id, created


async def list_rules(uow: UnitOfWork) -> list[AnomalyRule]:
    async with uow:
        return await uow.anomalies.list_rules()


async def get_rule(uow: UnitOfWork, rule_id: int) -> AnomalyRule:
    async with uow:
        row = await uow.anomalies.get_rule(rule_id)
    if row is None:
        raise NotFound(f"Anomaly detection rule {rule_id} not found")
    return row


async def update_rule(uow: UnitOfWork, rule_id: int, fields: dict[str, Any]) -> AnomalyRule:
    """Set every field sent; 404 when the rule is missing, 409 when it would duplicate (pipeline, metric)."""
    values = _checked(fields)
    async with uow:
        try:
            row = (
                await uow.anomalies.update_rule(rule_id, values)
                if values
                else await uow.anomalies.get_rule(rule_id)
            )
        except Duplicate as exc:
            raise Conflict("the pipeline already has a rule for that metric") from exc
        if row is None:
            raise NotFound(f"Anomaly detection rule {rule_id} not found")
        await uow.commit()
    return row


async def detect_anomalies(
    uow: UnitOfWork, execution_ids: Sequence[int], pipelines: dict[int, tuple[str, int]]
) -> int:
    """In the caller's open transaction: evaluate every active rule on each of these ended executions (only the
    successful ones are evaluated), store the anomalous results, publish `anomaly.detected` and raise one alert
    per anomalous execution. Returns the number of anomalous executions."""
    started = time.perf_counter()
    results = [r for r in map(judge, await uow.anomalies.samples(execution_ids)) if r is not None]
    stored = await uow.anomalies.insert_results(results)
    by_execution: dict[tuple[int, int], list[AnomalousMetric]] = defaultdict(list)
    for r in results:
        if (r.execution_id, r.metric_field) not in stored:
            continue  # found before (a redelivered end): already published
        ANOMALIES.labels(r.metric_field).inc()
        by_execution[(r.pipeline_id, r.execution_id)].append(
            project(AnomalousMetric, r, baseline_count=r.context["baseline_executions"])
        )
    drafts: list[AlertDraft] = []
    for (pipeline_id, execution_id), metrics in by_execution.items():
        name, type_id = pipelines.get(pipeline_id, (str(pipeline_id), None))
        uow.publish(
            AnomalyDetected(
                pipeline_id=pipeline_id, pipeline_name=name, execution_id=execution_id, metrics=metrics
            )
        )
        drafts.append(_anomaly_alert(pipeline_id, name, type_id, execution_id, metrics))
        log.info(
            "anomaly_detected",
            pipeline_id=pipeline_id,
            execution_id=execution_id,
            metrics=[m.metric_field for m in metrics],
        )
    await raise_alerts(uow, drafts)
    DETECTION_SECONDS.observe(time.perf_counter() - started)
    return len(by_execution)


def judge(sample: RuleSample) -> AnomalyResult | None:
    """The anomalous result of a rule on its sample; None when the value is normal or cannot be judged."""
    verdict = evaluate(
        sample.value,
        Baseline(count=sample.n, mean=sample.mean, stddev=sample.sd),
        z_threshold=sample.z_threshold,
        minimum_executions=sample.minimum_executions,
        direction=sample.direction,
    )
    EVALUATIONS.labels("skipped" if verdict is None else "anomalous" if verdict.anomalous else "normal").inc()
    if verdict is None or not verdict.anomalous:
        return None
    return AnomalyResult(
        rule_id=sample.rule_id,
        pipeline_id=sample.pipeline_id,
        execution_id=sample.execution_id,
        metric_field=sample.metric_field,
        value=verdict.value,
        mean=verdict.mean,
        stddev=verdict.stddev,
        z_score=verdict.z_score,
        z_threshold=sample.z_threshold,
        threshold_min=verdict.threshold_min,
        threshold_max=verdict.threshold_max,
        context={
            "lookback_days": sample.lookback_days,
            "minimum_executions": sample.minimum_executions,
            "baseline_executions": sample.n,
            "hour_recorded": sample.hour_recorded,
            "day_of_week": sample.day_of_week if sample.seasonality == "hour_of_week" else None,
            "seasonality": sample.seasonality,
            "direction": sample.direction,
        },
    )


def _anomaly_alert(
    pipeline_id: int, name: str, type_id: int | None, execution_id: int, metrics: list[AnomalousMetric]
) -> AlertDraft:
    parts = [
        f"{m.metric_field} {m.value:g} outside [{m.threshold_min:g}, {m.threshold_max:g}] (z={m.z_score:.2f})"
        for m in metrics
    ]
    return AlertDraft(
        alert_type="anomaly",
        severity="warning",
        msg=f"Anomaly in pipeline {name!r}, execution {execution_id}: " + "; ".join(parts),
        dedup_key=f"anomaly:{execution_id}",
        condition_key=f"anomaly:{pipeline_id}",
        body={
            "execution_id": execution_id,
            "metrics": [
                {
                    "metric_field": m.metric_field,
                    "value": m.value,
                    "mean": m.mean,
                    "stddev": m.stddev,
                    "z_score": m.z_score,
                    "z_threshold": m.z_threshold,
                    "threshold_min": m.threshold_min,
                    "threshold_max": m.threshold_max,
                    "baseline_count": m.baseline_count,
                }
                for m in metrics
            ],
        },
        pipeline_id=pipeline_id,
        pipeline_name=name,
        pipeline_type_id=type_id,
        execution_id=execution_id,
    )


async def unflag_anomaly(
    uow: UnitOfWork, pipeline_id: int, execution_id: int, fields: list[str]
) -> list[str]:
    """Delete the execution's results for these metrics and publish `anomaly.cleared` (execution-tracking then
    sets the flags to false). 404 when none of them is flagged."""
    try:
        wanted = metric_fields(fields)
    except RuleViolation as exc:
        raise Invalid(str(exc)) from exc
    async with uow:
        cleared = await uow.anomalies.delete_results(pipeline_id, execution_id, wanted)
        if not cleared:
            raise NotFound(
                f"No anomaly flagged for execution {execution_id} of pipeline {pipeline_id} "
                f"on {', '.join(wanted) or 'no metric'}"
            )
        uow.publish(AnomalyCleared(pipeline_id=pipeline_id, execution_id=execution_id, metric_fields=cleared))
        await uow.commit()
    log.info("anomaly_unflagged", pipeline_id=pipeline_id, execution_id=execution_id, metrics=cleared)
    return cleared
