"""Anomaly detection's use cases on the in-memory unit of work: facts applied, rules judged, results, events and
alerts, as the integration tests check them on Postgres (tests/integration/test_anomalies.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.common.errors import NotFound
from headwater.common.events import (
    AlertRaised,
    AnomalyCleared,
    AnomalyDetected,
    ExecutionEnded,
)
from headwater.quality_alerting.service_layer.anomalies import unflag_anomaly, upsert_rule
from headwater.quality_alerting.service_layer.facts import apply_facts
from headwater.quality_alerting.testing import FakeUnitOfWork, execution_ended, execution_started

BASE_DAY = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC
PIPELINE = 7
ids = itertools.count(1000)


def ended(start: datetime, **metrics: Any) -> ExecutionEnded:
    return execution_ended(PIPELINE, start, execution_id=next(ids), pipeline_name="orders", **metrics)


def stable_series(days: int = 10) -> list[ExecutionEnded]:
    rows = [1000, 1010, 990, 1005, 995, 1002, 998, 1001, 999, 1000]
    return [
        ended(BASE_DAY + timedelta(days=d), total_rows=rows[d % len(rows)], duration=60 + d % 3)
        for d in range(days)
    ]


async def rule(uow: FakeUnitOfWork, **fields: Any) -> int:
    values = {"pipeline_id": PIPELINE, "metric_field": "total_rows", "minimum_executions": 5, **fields}
    rule_id, created = await upsert_rule(uow, values)
    assert created
    return rule_id


def published(uow: FakeUnitOfWork, kind: type[Any]) -> list[Any]:
    return [e for e in uow.committed_events if isinstance(e, kind)]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def test_an_outlier_after_a_stable_series_is_flagged_and_published_on_commit(
    uow: FakeUnitOfWork,
) -> None:
    await rule(uow)
    assert await apply_facts(uow, stable_series()) == 0
    assert uow.committed_events == []
    outlier = ended(BASE_DAY + timedelta(days=10), total_rows=5000)

    assert await apply_facts(uow, [outlier]) == 1

    result = uow.anomalies.results[(outlier.execution_id, "total_rows")]
    assert result.value == 5000
    assert result.context["baseline_executions"] == 10
    assert result.threshold_min < 1000 < result.threshold_max < 5000
    assert result.z_score > 3
    [detected] = published(uow, AnomalyDetected)
    assert (detected.pipeline_id, detected.pipeline_name, detected.execution_id) == (
        PIPELINE,
        "orders",
        outlier.execution_id,
    )
    [metric] = detected.metrics
    assert (metric.metric_field, metric.value, metric.baseline_count) == ("total_rows", 5000, 10)
    [raised] = published(uow, AlertRaised)
    assert (raised.alert_type, raised.severity, raised.execution_id) == (
        "anomaly",
        "warning",
        outlier.execution_id,
    )
    [alert] = uow.alerts.alerts.values()
    assert (alert.dedup_key, alert.condition_key) == (
        f"anomaly:{outlier.execution_id}",
        f"anomaly:{PIPELINE}",
    )
    assert uow.deliveries.offered == [alert.id]


async def test_nothing_is_published_without_a_commit(uow: FakeUnitOfWork) -> None:
    """Detection runs in apply_facts' transaction: its events reach the outbox only through the commit."""
    await rule(uow)
    await apply_facts(uow, stable_series())
    commits = uow.commits
    await apply_facts(uow, [ended(BASE_DAY + timedelta(days=10), total_rows=5000)])
    assert uow.commits == commits + 1
    assert len(published(uow, AnomalyDetected)) == 1


async def test_normal_values_failed_runs_and_missing_values_are_not_flagged(uow: FakeUnitOfWork) -> None:
    await rule(uow)
    await apply_facts(uow, stable_series())
    normal = ended(BASE_DAY + timedelta(days=10), total_rows=1004)
    failed = ended(BASE_DAY + timedelta(days=11), total_rows=99999, ok=False)
    missing = ended(BASE_DAY + timedelta(days=12), total_rows=None)

    assert await apply_facts(uow, [normal, failed, missing]) == 0

    assert uow.anomalies.results == {}
    assert published(uow, AnomalyDetected) == []
    assert published(uow, AlertRaised) == []


async def test_too_few_baseline_runs_give_no_verdict(uow: FakeUnitOfWork) -> None:
    await rule(uow, minimum_executions=20)
    await apply_facts(uow, stable_series())  # 10 runs: fewer than the rule wants
    assert await apply_facts(uow, [ended(BASE_DAY + timedelta(days=10), total_rows=9000)]) == 0
    assert uow.anomalies.results == {}
    assert published(uow, AnomalyDetected) == []


async def test_a_baseline_without_spread_gives_no_verdict(uow: FakeUnitOfWork) -> None:
    await rule(uow)
    await apply_facts(uow, [ended(BASE_DAY + timedelta(days=d), total_rows=1000) for d in range(10)])
    assert await apply_facts(uow, [ended(BASE_DAY + timedelta(days=10), total_rows=9000)]) == 0
    assert uow.anomalies.results == {}


async def test_a_redelivered_batch_is_skipped_through_the_inbox(uow: FakeUnitOfWork) -> None:
    await rule(uow)
    await rule(uow, metric_field="duration_seconds")
    await apply_facts(uow, stable_series())
    outlier = ended(BASE_DAY + timedelta(days=10), total_rows=8000, duration=600)
    start = execution_started(outlier)

    assert await apply_facts(uow, [start, outlier]) == 1
    assert await apply_facts(uow, [start, outlier]) == 0  # the same events again: detection runs once per end

    assert sorted(m for x, m in uow.anomalies.results if x == outlier.execution_id) == [
        "duration_seconds",
        "total_rows",
    ]
    [detected] = published(uow, AnomalyDetected)
    assert sorted(m.metric_field for m in detected.metrics) == ["duration_seconds", "total_rows"]
    assert len(published(uow, AlertRaised)) == 1
    assert {str(start.event_id), str(outlier.event_id)} <= uow.processed["quality-alerting.execution-facts"]


async def test_a_flagged_run_is_left_out_of_the_next_baseline(uow: FakeUnitOfWork) -> None:
    await rule(uow)
    await apply_facts(uow, stable_series(days=6))
    first = ended(BASE_DAY + timedelta(days=6), total_rows=3000)
    second = ended(BASE_DAY + timedelta(days=7), total_rows=3000)
    await apply_facts(uow, [first])
    await apply_facts(uow, [second])
    assert uow.anomalies.results[(first.execution_id, "total_rows")].context["baseline_executions"] == 6
    assert uow.anomalies.results[(second.execution_id, "total_rows")].context["baseline_executions"] == 6


async def test_unflagging_publishes_anomaly_cleared_and_404s_when_nothing_is_flagged(
    uow: FakeUnitOfWork,
) -> None:
    await rule(uow)
    await apply_facts(uow, stable_series())
    outlier = ended(BASE_DAY + timedelta(days=10), total_rows=5000)
    await apply_facts(uow, [outlier])

    with pytest.raises(NotFound):
        await unflag_anomaly(uow, PIPELINE, outlier.execution_id, ["duration_seconds"])
    assert await unflag_anomaly(uow, PIPELINE, outlier.execution_id, ["TOTAL_ROWS", "inserts"]) == [
        "total_rows"
    ]

    assert uow.anomalies.results == {}
    [cleared] = published(uow, AnomalyCleared)
    assert (cleared.pipeline_id, cleared.execution_id, cleared.metric_fields) == (
        PIPELINE,
        outlier.execution_id,
        ["total_rows"],
    )
    with pytest.raises(NotFound):
        await unflag_anomaly(uow, PIPELINE, outlier.execution_id, ["total_rows"])
