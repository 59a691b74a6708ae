"""Use cases of anomaly detection: rules, detection on successful runs, unflagging."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from headwater.common.events import AnomalousMetric, AnomalyCleared, AnomalyDetected
from headwater.common.logging import get_logger
from headwater.quality_alerting.adapters.db import anomalies
from headwater.quality_alerting.domain.alerts import AlertDraft
from headwater.quality_alerting.domain.anomaly import (
    Baseline,
    RuleViolation,
    evaluate,
    metric_fields,
    normalise_rule,
)
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.errors import Conflict, Invalid, NotFound
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
        rule_id = await anomalies.insert_rule_if_absent(uow.conn, values)
        created = rule_id is not None
        if rule_id is None:
            rule_id = await anomalies.rule_id(uow.conn, values["pipeline_id"], values["metric_field"])
            assert rule_id is not None
        await uow.commit()
    if created:
        log.info("anomaly_rule_created", rule_id=rule_id, **values)
    return rule_id, created


async def list_rules(uow: UnitOfWork) -> list[RowMapping]:
    async with uow:
        return await anomalies.list_rules(uow.conn)


async def get_rule(uow: UnitOfWork, rule_id: int) -> RowMapping:
    async with uow:
        row = await anomalies.get_rule(uow.conn, rule_id)
    if row is None:
        raise NotFound(f"Anomaly detection rule {rule_id} not found")
    return row


async def update_rule(uow: UnitOfWork, rule_id: int, fields: dict[str, Any]) -> RowMapping:
    """Set every field sent; 404 when the rule is missing, 409 when it would duplicate (pipeline, metric)."""
    values = _checked(fields)
    async with uow:
        try:
            row = (
                await anomalies.update_rule(uow.conn, rule_id, values)
                if values
                else await anomalies.get_rule(uow.conn, rule_id)
            )
        except IntegrityError as exc:
            raise Conflict("the pipeline already has a rule for that metric") from exc
        if row is None:
            raise NotFound(f"Anomaly detection rule {rule_id} not found")
        await uow.commit()
    return row


async def detect_anomalies(
    uow: UnitOfWork, execution_ids: Sequence[int], pipelines: dict[int, tuple[str, int]]
) -> int:
    """In the caller's transaction: evaluate every active rule on each of these ended executions (only the
    successful ones are evaluated), store the anomalous results, publish `anomaly.detected` and raise one alert
    per anomalous execution. Returns the number of anomalous executions."""
    started = time.perf_counter()
    rows = await anomalies.baselines(uow.conn, execution_ids)
    results: list[dict[str, Any]] = []
    for row in rows:
        verdict = evaluate(
            row["value"],
            Baseline(count=row["n"], mean=row["mean"], stddev=row["sd"]),
            z_threshold=row["z_threshold"],
            minimum_executions=row["minimum_executions"],
            direction=row["direction"],
        )
        EVALUATIONS.labels(
            "skipped" if verdict is None else "anomalous" if verdict.anomalous else "normal"
        ).inc()
        if verdict is None or not verdict.anomalous:
            continue
        results.append(
            {
                "rule_id": row["rule_id"],
                "pipeline_id": row["pipeline_id"],
                "execution_id": row["execution_id"],
                "metric_field": row["metric_field"],
                "value": verdict.value,
                "mean": verdict.mean,
                "stddev": verdict.stddev,
                "z_score": verdict.z_score,
                "z_threshold": row["z_threshold"],
                "threshold_min": verdict.threshold_min,
                "threshold_max": verdict.threshold_max,
                "context": {
                    "lookback_days": row["lookback_days"],
                    "minimum_executions": row["minimum_executions"],
                    "baseline_executions": row["n"],
                    "hour_recorded": row["hour_recorded"],
                    "day_of_week": row["day_of_week"] if row["seasonality"] == "hour_of_week" else None,
                    "seasonality": row["seasonality"],
                    "direction": row["direction"],
                },
            }
        )
    stored = {
        (r["execution_id"], r["metric_field"]) for r in await anomalies.insert_results(uow.conn, results)
    }
    by_execution: dict[tuple[int, int], list[AnomalousMetric]] = defaultdict(list)
    for r in results:
        if (r["execution_id"], r["metric_field"]) not in stored:
            continue  # found before (a redelivered end): already published
        ANOMALIES.labels(r["metric_field"]).inc()
        by_execution[(r["pipeline_id"], r["execution_id"])].append(
            AnomalousMetric(
                metric_field=r["metric_field"],
                value=r["value"],
                mean=r["mean"],
                stddev=r["stddev"],
                z_score=r["z_score"],
                z_threshold=r["z_threshold"],
                threshold_min=r["threshold_min"],
                threshold_max=r["threshold_max"],
                baseline_count=r["context"]["baseline_executions"],
            )
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
        cleared = await anomalies.delete_results(uow.conn, pipeline_id, execution_id, wanted)
        if not cleared:
            raise NotFound(
                f"No anomaly flagged for execution {execution_id} of pipeline {pipeline_id} "
                f"on {', '.join(wanted) or 'no metric'}"
            )
        uow.publish(AnomalyCleared(pipeline_id=pipeline_id, execution_id=execution_id, metric_fields=cleared))
        await uow.commit()
    log.info("anomaly_unflagged", pipeline_id=pipeline_id, execution_id=execution_id, metrics=cleared)
    return cleared
