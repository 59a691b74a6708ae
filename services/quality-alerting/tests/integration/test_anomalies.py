"""Anomaly detection on the real Postgres: the baseline (successful runs of the same pipeline, same UTC start
hour, within the lookback, not flagged), the range mean ± z·sd, results, events, alerts, unflag."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from headwater.common.errors import NotFound
from headwater.common.events import ExecutionEnded
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.entrypoints.http.app import create_app
from headwater.quality_alerting.service_layer.anomalies import unflag_anomaly, upsert_rule
from headwater.quality_alerting.service_layer.facts import apply_facts
from headwater.quality_alerting.settings import Settings
from headwater.quality_alerting.testing import execution_ended, execution_started

pytestmark = pytest.mark.integration

BASE_DAY = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC


def new_id() -> int:
    return random.randint(10**9, 2**62)


def ended(pipeline_id: int, start: datetime, **metrics: Any) -> ExecutionEnded:
    return execution_ended(pipeline_id, start, execution_id=new_id(), **metrics)


def stable_series(pipeline_id: int, days: int = 10, hour: int = 6) -> list[ExecutionEnded]:
    rows = [1000, 1010, 990, 1005, 995, 1002, 998, 1001, 999, 1000, 1003, 997]
    return [
        ended(
            pipeline_id,
            BASE_DAY.replace(hour=hour) + timedelta(days=d),
            total_rows=rows[d % len(rows)],
            duration=60 + d % 3,
        )
        for d in range(days)
    ]


async def rule(container: Container, pipeline_id: int, **fields: Any) -> int:
    values = {"pipeline_id": pipeline_id, "metric_field": "total_rows", "minimum_executions": 5, **fields}
    rule_id, _ = await upsert_rule(container.uow_factory(), values)
    return rule_id


async def results(container: Container, execution_id: int) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM anomaly_result WHERE execution_id = :x ORDER BY metric_field"),
            {"x": execution_id},
        )
        return [dict(r) for r in rows.mappings()]


async def outbox(container: Container, event_type: str, needle: str) -> list[bytes]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM outbox WHERE event_type = :t AND position(CAST(:n AS bytea) IN payload) > 0"
            ),
            {"t": event_type, "n": needle.encode()},
        )
        return [bytes(r[0]) for r in rows]


async def test_an_outlier_after_a_stable_series_is_flagged_with_its_real_baseline(
    container: Container,
) -> None:
    pipeline = new_id()
    await rule(container, pipeline)
    series = stable_series(pipeline)
    await apply_facts(container.uow_factory(), series)
    outlier = ended(pipeline, BASE_DAY + timedelta(days=10), total_rows=5000)
    assert await apply_facts(container.uow_factory(), [outlier]) == 1

    [result] = await results(container, outlier.execution_id)
    assert result["metric_field"] == "total_rows"
    assert result["value"] == 5000
    assert result["context"]["baseline_executions"] == 10  # the reference always stores 0
    assert result["threshold_min"] < 1000 < result["threshold_max"] < 5000
    assert result["z_score"] > 3
    detected = await outbox(container, "anomaly.detected.v1", f'"execution_id":{outlier.execution_id}')
    assert len(detected) == 1
    assert b'"baseline_count":10' in detected[0]
    raised = await outbox(container, "alert.raised.v1", f'"execution_id":{outlier.execution_id}')
    assert len(raised) == 1
    assert b'"alert_type":"anomaly"' in raised[0]


async def test_normal_values_failed_runs_and_missing_values_are_not_flagged(container: Container) -> None:
    pipeline = new_id()
    await rule(container, pipeline)
    await apply_facts(container.uow_factory(), stable_series(pipeline))
    normal = ended(pipeline, BASE_DAY + timedelta(days=10), total_rows=1004)
    failed = ended(pipeline, BASE_DAY + timedelta(days=11), total_rows=99999, ok=False)
    missing = ended(pipeline, BASE_DAY + timedelta(days=12), total_rows=None)
    assert await apply_facts(container.uow_factory(), [normal, failed, missing]) == 0
    for e in (normal, failed, missing):
        assert await results(container, e.execution_id) == []


async def test_too_few_baseline_runs_or_no_spread_skip_the_rule(container: Container) -> None:
    few, flat = new_id(), new_id()
    await rule(container, few, minimum_executions=20)
    await rule(container, flat)
    await apply_facts(container.uow_factory(), stable_series(few))
    await apply_facts(
        container.uow_factory(),
        [ended(flat, BASE_DAY + timedelta(days=d), total_rows=1000) for d in range(10)],
    )
    outliers = [
        ended(few, BASE_DAY + timedelta(days=10), total_rows=9000),
        ended(flat, BASE_DAY + timedelta(days=10), total_rows=9000),
    ]
    assert await apply_facts(container.uow_factory(), outliers) == 0


async def test_the_baseline_is_the_same_start_hour_within_the_lookback_not_flagged_runs(
    container: Container,
) -> None:
    pipeline = new_id()
    await rule(container, pipeline, lookback_days=30)
    at_six = stable_series(pipeline, days=6)
    at_seven = [
        ended(pipeline, BASE_DAY.replace(hour=7) + timedelta(days=d), total_rows=50) for d in range(6)
    ]
    too_old = [ended(pipeline, BASE_DAY - timedelta(days=60 + d), total_rows=1) for d in range(6)]
    await apply_facts(container.uow_factory(), [*at_six, *at_seven, *too_old])
    first = ended(pipeline, BASE_DAY + timedelta(days=6), total_rows=3000)
    await apply_facts(container.uow_factory(), [first])
    [r] = await results(container, first.execution_id)
    assert r["context"]["baseline_executions"] == 6  # only the 06:00 runs of the last 30 days

    # The flagged run is left out of the next baseline: a second outlier is judged on the stable runs only.
    second = ended(pipeline, BASE_DAY + timedelta(days=7), total_rows=3000)
    await apply_facts(container.uow_factory(), [second])
    [r2] = await results(container, second.execution_id)
    assert r2["context"]["baseline_executions"] == 6


async def test_weekly_seasonality_and_direction(container: Container) -> None:
    pipeline = new_id()
    await rule(container, pipeline, seasonality="hour_of_week", direction="spike", lookback_days=90)
    # Mondays carry 5,000 rows, other days 1,000: a Monday with 5,000 is normal for an hour-of-week baseline.
    history = [
        ended(
            pipeline,
            BASE_DAY + timedelta(days=d),
            total_rows=(5000 + d % 3 if (BASE_DAY + timedelta(days=d)).isoweekday() == 1 else 1000 + d % 3),
        )
        for d in range(-70, 0)
    ]
    await apply_facts(container.uow_factory(), history)
    monday = ended(pipeline, BASE_DAY, total_rows=5001)
    drop = ended(pipeline, BASE_DAY + timedelta(days=7), total_rows=10)  # a Monday far below: not a spike
    spike = ended(pipeline, BASE_DAY + timedelta(days=14), total_rows=90000)
    await apply_facts(container.uow_factory(), [monday])
    await apply_facts(container.uow_factory(), [drop])
    await apply_facts(container.uow_factory(), [spike])
    assert await results(container, monday.execution_id) == []
    assert await results(container, drop.execution_id) == []
    [r] = await results(container, spike.execution_id)
    assert r["context"]["seasonality"] == "hour_of_week"
    assert r["context"]["day_of_week"] == 1


async def test_a_redelivered_batch_flags_and_alerts_once(container: Container) -> None:
    pipeline = new_id()
    await rule(container, pipeline)
    await rule(container, pipeline, metric_field="duration_seconds")
    await apply_facts(container.uow_factory(), stable_series(pipeline))
    outlier = ended(pipeline, BASE_DAY + timedelta(days=10), total_rows=8000, duration=600)
    start = execution_started(outlier)
    assert await apply_facts(container.uow_factory(), [start, outlier]) == 1
    assert await apply_facts(container.uow_factory(), [start, outlier]) == 0
    assert [r["metric_field"] for r in await results(container, outlier.execution_id)] == [
        "duration_seconds",
        "total_rows",
    ]
    assert len(await outbox(container, "anomaly.detected.v1", f'"execution_id":{outlier.execution_id}')) == 1
    assert len(await outbox(container, "alert.raised.v1", f'"execution_id":{outlier.execution_id}')) == 1


async def test_unflag_deletes_results_publishes_cleared_and_404s_when_nothing_is_flagged(
    container: Container,
) -> None:
    pipeline = new_id()
    await rule(container, pipeline)
    await apply_facts(container.uow_factory(), stable_series(pipeline))
    outlier = ended(pipeline, BASE_DAY + timedelta(days=10), total_rows=5000)
    await apply_facts(container.uow_factory(), [outlier])

    with pytest.raises(NotFound):
        await unflag_anomaly(container.uow_factory(), pipeline, outlier.execution_id, ["duration_seconds"])
    assert await unflag_anomaly(
        container.uow_factory(), pipeline, outlier.execution_id, ["TOTAL_ROWS", "inserts"]
    ) == ["total_rows"]
    assert await results(container, outlier.execution_id) == []
    cleared = await outbox(container, "anomaly.cleared.v1", f'"execution_id":{outlier.execution_id}')
    assert len(cleared) == 1
    assert b'"metric_fields":["total_rows"]' in cleared[0]
    with pytest.raises(NotFound):
        await unflag_anomaly(container.uow_factory(), pipeline, outlier.execution_id, ["total_rows"])


async def test_rules_over_http(stack: Stack) -> None:
    pipeline = new_id()
    # The app gets its own container: the test client runs it on its own event loop and closes it at the end.
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))
    async with AsyncTestClient(app) as client:
        client.auth = SignedCalls(stack.internal_signing_key)
        body = {"pipeline_id": pipeline, "metric_field": "Total_Rows", "z_threshold": 2.0}
        created = await client.post("/anomaly_detection_rule", json=body)
        assert created.status_code == 201
        rule_id = created.json()["id"]
        again = await client.post("/anomaly_detection_rule", json={**body, "z_threshold": 5.0})
        assert (again.status_code, again.json()) == (200, {"id": rule_id})

        got = (await client.get(f"/anomaly_detection_rule/{rule_id}")).json()
        assert got["metric_field"] == "total_rows"
        assert got["z_threshold"] == 2.0
        assert got["lookback_days"] == 30
        assert got["minimum_executions"] == 30
        assert got["active"] is True
        assert got["seasonality"] == "hour"
        assert got["direction"] == "both"
        assert got["updated_at"] is None
        assert any(r["id"] == rule_id for r in (await client.get("/anomaly_detection_rule")).json())

        patched = await client.patch(
            "/anomaly_detection_rule", json={"id": rule_id, "z_threshold": 2.5, "direction": "drop"}
        )
        assert patched.status_code == 200
        assert patched.json()["z_threshold"] == 2.5
        assert patched.json()["updated_at"] is not None

        for bad in (
            {"pipeline_id": pipeline, "metric_field": "total_rows", "z_threshold": 11},
            {"pipeline_id": pipeline, "metric_field": "total_rows", "lookback_days": 0},
            {"pipeline_id": pipeline, "metric_field": "total_rows", "minimum_executions": 4},
            {"pipeline_id": pipeline, "metric_field": "rows"},
            {"metric_field": "total_rows"},
        ):
            answer = await client.post("/anomaly_detection_rule", json=bad)
            assert answer.status_code == 422, (bad, answer.text)
        assert (await client.get("/anomaly_detection_rule/999999999999")).status_code == 404
        assert (await client.patch("/anomaly_detection_rule", json={"id": 999999999999})).status_code == 404
        other = await client.post(
            "/anomaly_detection_rule", json={"pipeline_id": pipeline, "metric_field": "inserts"}
        )
        duplicate = await client.patch(
            "/anomaly_detection_rule", json={"id": other.json()["id"], "metric_field": "total_rows"}
        )
        assert duplicate.status_code == 409
