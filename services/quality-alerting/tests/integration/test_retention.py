"""Retention on the real Postgres: old results, check logs, metric copies and resolved alerts are deleted."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.service_layer.retention import delete_old_data

pytestmark = pytest.mark.integration

OLD = datetime(1990, 6, 1, tzinfo=UTC)  # older than anything another test writes
CUTOFF = datetime(1991, 1, 1, tzinfo=UTC)


async def test_old_data_goes_and_unresolved_alerts_stay(container: Container) -> None:
    p, x = random.randint(10**9, 2**60), random.randint(10**9, 2**60)
    async with container.engine.begin() as conn:
        rule = await conn.scalar(
            text("INSERT INTO anomaly_rule (pipeline_id, metric_field) VALUES (:p, 'inserts') RETURNING id"),
            {"p": p},
        )
        await conn.execute(
            text(
                "INSERT INTO anomaly_result (rule_id, pipeline_id, execution_id, metric_field, value, mean, stddev, "
                "z_score, z_threshold, threshold_min, threshold_max, context, detected_at) "
                "VALUES (:r, :p, :x, 'inserts', 1, 1, 1, 1, 3, 0, 4, '{}', :old)"
            ),
            {"r": rule, "p": p, "x": x, "old": OLD},
        )
        for n in range(3):
            await conn.execute(
                text(
                    "INSERT INTO freshness_log (pipeline_id, last_dml_at, due_at, freshness_number, "
                    "freshness_datepart, checked_at) VALUES (:p, :dml, :old, 1, 'day', :old)"
                ),
                {"p": p, "dml": OLD.replace(day=n + 1), "old": OLD},
            )
        await conn.execute(
            text(
                "INSERT INTO timeliness_log (pipeline_id, execution_id, status, start_date, due_at, "
                "timeliness_number, timeliness_datepart, checked_at) VALUES (:p, :x, 'running', :old, :old, 1, "
                "'hour', :old)"
            ),
            {"p": p, "x": x, "old": OLD},
        )
        await conn.execute(
            text(
                "INSERT INTO execution_metric (execution_id, pipeline_id, start_date, end_date, hour_recorded, "
                "day_of_week, completed_successfully) VALUES (:x, :p, :old, :old, 0, 5, true)"
            ),
            {"p": p, "x": x, "old": OLD},
        )
        for resolved in (True, False):
            await conn.execute(
                text(
                    "INSERT INTO alert (alert_type, severity, pipeline_id, msg, dedup_key, condition_key, resolved, "
                    "created_at) VALUES ('freshness', 'warning', :p, 'old', :k, 'c', :resolved, :old)"
                ),
                {"p": p, "k": f"retention:{p}:{resolved}", "resolved": resolved, "old": OLD},
            )

    counts = await delete_old_data(container.uow_factory(), cutoff=CUTOFF, batch_size=2)
    assert counts.total_anomaly_detection_results_deleted == 1
    assert counts.total_freshness_pipeline_logs_deleted == 3
    assert counts.total_timeliness_pipeline_execution_logs_deleted == 1
    async with container.engine.connect() as conn:
        left = {
            table: await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE pipeline_id = :p"), {"p": p})
            for table in ("anomaly_result", "freshness_log", "timeliness_log", "execution_metric", "alert")
        }
    assert left == {
        "anomaly_result": 0,
        "freshness_log": 0,
        "timeliness_log": 0,
        "execution_metric": 0,
        "alert": 1,
    }
    again = await delete_old_data(container.uow_factory(), cutoff=CUTOFF, batch_size=2)
    assert again.total_freshness_pipeline_logs_deleted == 0
