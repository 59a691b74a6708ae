"""Anomaly rules, their baselines and their results in Postgres."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from headwater.common.db.errors import integrity_errors_as_domain_errors
from headwater.common.db.repository import Repository
from headwater.quality_alerting.adapters.db.tables import anomaly_rule
from headwater.quality_alerting.domain.anomaly import AnomalyResult, AnomalyRule, RuleSample

RULE_COLUMNS = tuple(anomaly_rule.c)


# Every active rule of each execution under test, with the execution's value and its baseline: successful runs
# of the same pipeline at the same UTC start hour (and day of week for `hour_of_week`), ended within the rule's
# lookback before the execution ended, not the execution itself, not already flagged for this metric, values
# not null. One statement for the whole batch; the (pipeline, hour, end) partial index serves each baseline.
SAMPLES = text(
    """
    WITH under_test AS (
        SELECT m.*, r.id AS rule_id, r.metric_field, r.z_threshold, r.lookback_days, r.minimum_executions,
               r.seasonality, r.direction
        FROM execution_metric m
        JOIN anomaly_rule r ON r.pipeline_id = m.pipeline_id AND r.active
        WHERE m.execution_id = ANY(CAST(:execution_ids AS bigint[])) AND m.completed_successfully
    )
    SELECT t.rule_id, t.execution_id, t.pipeline_id, t.metric_field, t.z_threshold, t.lookback_days,
           t.minimum_executions, t.seasonality, t.direction, t.hour_recorded, t.day_of_week,
           CASE t.metric_field
               WHEN 'duration_seconds' THEN t.duration_seconds::float8 WHEN 'inserts' THEN t.inserts::float8
               WHEN 'updates' THEN t.updates::float8 WHEN 'soft_deletes' THEN t.soft_deletes::float8
               WHEN 'total_rows' THEN t.total_rows::float8 WHEN 'throughput' THEN t.throughput END AS value,
           b.n, b.mean, b.sd
    FROM under_test t
    CROSS JOIN LATERAL (
        SELECT count(v) AS n, avg(v) AS mean, stddev_samp(v) AS sd
        FROM (
            SELECT CASE t.metric_field
                       WHEN 'duration_seconds' THEN h.duration_seconds::float8
                       WHEN 'inserts' THEN h.inserts::float8 WHEN 'updates' THEN h.updates::float8
                       WHEN 'soft_deletes' THEN h.soft_deletes::float8
                       WHEN 'total_rows' THEN h.total_rows::float8 WHEN 'throughput' THEN h.throughput END AS v
            FROM execution_metric h
            WHERE h.pipeline_id = t.pipeline_id AND h.hour_recorded = t.hour_recorded
              AND h.completed_successfully
              AND h.end_date > t.end_date - make_interval(days => t.lookback_days) AND h.end_date <= t.end_date
              AND h.execution_id <> t.execution_id
              AND (t.seasonality = 'hour' OR h.day_of_week = t.day_of_week)
              AND NOT EXISTS (
                  SELECT 1 FROM anomaly_result f
                  WHERE f.execution_id = h.execution_id AND f.metric_field = t.metric_field)
        ) sample
        WHERE v IS NOT NULL
    ) b
    ORDER BY t.execution_id, t.rule_id
    """
)


INSERT_RESULTS = text(
    """
        INSERT INTO anomaly_result (rule_id, pipeline_id, execution_id, metric_field, value, mean, stddev,
            z_score, z_threshold, threshold_min, threshold_max, context)
        SELECT r, p, x, m, v, mean, sd, z, zt, lo, hi, CAST(c AS jsonb)
        FROM unnest(CAST(:rule_id AS bigint[]), CAST(:pipeline_id AS bigint[]),
                    CAST(:execution_id AS bigint[]), CAST(:metric_field AS text[]), CAST(:value AS float8[]),
                    CAST(:mean AS float8[]), CAST(:stddev AS float8[]), CAST(:z_score AS float8[]),
                    CAST(:z_threshold AS float8[]), CAST(:threshold_min AS float8[]),
                    CAST(:threshold_max AS float8[]), CAST(:context AS text[]))
             AS t(r, p, x, m, v, mean, sd, z, zt, lo, hi, c)
        ORDER BY x, m
        ON CONFLICT (execution_id, metric_field) DO NOTHING
        RETURNING execution_id, metric_field
"""
)

RESULT_KEYS = (
    "rule_id",
    "pipeline_id",
    "execution_id",
    "metric_field",
    "value",
    "mean",
    "stddev",
    "z_score",
    "z_threshold",
    "threshold_min",
    "threshold_max",
)


class Anomalies(Repository):
    """Anomaly rules, the samples they judge (each execution's value and baseline) and anomalous results."""

    async def insert_rule_if_absent(self, values: Mapping[str, Any]) -> int | None:
        """Insert a rule; None when the pipeline already has one for that metric (it is not updated)."""
        stmt = (
            insert(anomaly_rule)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["pipeline_id", "metric_field"])
            .returning(anomaly_rule.c.id)
        )
        return (await self.conn.execute(stmt)).scalar()

    async def rule_id(self, pipeline_id: int, metric_field: str) -> int | None:
        return (
            await self.conn.execute(
                select(anomaly_rule.c.id).where(
                    anomaly_rule.c.pipeline_id == pipeline_id, anomaly_rule.c.metric_field == metric_field
                )
            )
        ).scalar()

    async def list_rules(self) -> list[AnomalyRule]:
        rows = await self.conn.execute(select(*RULE_COLUMNS).order_by(anomaly_rule.c.id))
        return [AnomalyRule(**row) for row in rows.mappings()]

    async def get_rule(self, rule_id: int) -> AnomalyRule | None:
        row = (
            (await self.conn.execute(select(*RULE_COLUMNS).where(anomaly_rule.c.id == rule_id)))
            .mappings()
            .first()
        )
        return None if row is None else AnomalyRule(**row)

    async def update_rule(self, rule_id: int, values: Mapping[str, Any]) -> AnomalyRule | None:
        """Set `values`; None when the rule is missing; Duplicate when it would repeat (pipeline, metric)."""
        stmt = (
            update(anomaly_rule)
            .where(anomaly_rule.c.id == rule_id)
            .values(**values, updated_at=text("now()"))
            .returning(*RULE_COLUMNS)
        )
        with integrity_errors_as_domain_errors():
            row = (await self.conn.execute(stmt)).mappings().first()
        return None if row is None else AnomalyRule(**row)

    async def samples(self, execution_ids: Sequence[int]) -> list[RuleSample]:
        if not execution_ids:
            return []
        rows = await self.conn.execute(SAMPLES, {"execution_ids": list(execution_ids)})
        return [RuleSample(**row) for row in rows.mappings()]

    async def insert_results(self, results: Sequence[AnomalyResult]) -> set[tuple[int, str]]:
        """Store results; one that exists for (execution, metric) is kept. The (execution, metric) inserted."""
        if not results:
            return set()
        columns: dict[str, list[Any]] = {k: [getattr(r, k) for r in results] for k in RESULT_KEYS}
        columns["context"] = [msgspec.json.encode(r.context).decode() for r in results]
        rows = await self.conn.execute(INSERT_RESULTS, columns)
        return {(r.execution_id, r.metric_field) for r in rows}

    async def delete_results(
        self, pipeline_id: int, execution_id: int, metric_fields: Sequence[str]
    ) -> list[str]:
        """Delete the execution's results for `metric_fields`; the metrics whose results were deleted."""
        result = await self.conn.execute(
            text(
                "DELETE FROM anomaly_result WHERE pipeline_id = :p AND execution_id = :x "
                "AND metric_field = ANY(CAST(:m AS text[])) RETURNING metric_field"
            ),
            {"p": pipeline_id, "x": execution_id, "m": list(metric_fields)},
        )
        return sorted(set(result.scalars()))
