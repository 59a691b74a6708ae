"""Freshness and timeliness as set-based SQL on quality-alerting's own copies: find, log once, return what is new.

Each check is one statement whatever the number of pipelines: it selects the violations, inserts those not logged
before into its log (`ON CONFLICT DO NOTHING` on the log's unique key, so a violation is logged once however often
it is found) and returns the rows inserted, with what an alert needs. Allowed intervals are added with
`make_interval` in UTC, so months and years are calendar months and years and days are whole UTC days.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from headwater.common.db.repository import Repository
from headwater.quality_alerting.domain.slo import LateExecution, StalePipeline

# Serialises each check: two checks of one kind at once would otherwise wait on each other's unique keys row by
# row (and could deadlock on the order); the second one now starts after the first commits and finds nothing new.
_LOCK_KEYS = {"freshness": 0x48570001, "timeliness": 0x48570002}


def due_at(moment: str, number: str, datepart: str) -> str:
    """SQL for `moment` + `number` x `datepart`, calendar-correct in UTC (Postgres adds months before days)."""
    parts = ", ".join(
        f"{arg} => CASE WHEN {datepart} = '{name}' THEN {number} ELSE 0 END"
        for arg, name in (
            ("years", "year"),
            ("months", "month"),
            ("weeks", "week"),
            ("days", "day"),
            ("hours", "hour"),
            ("mins", "minute"),
        )
    )
    return f"((({moment}) AT TIME ZONE 'UTC' + make_interval({parts})) AT TIME ZONE 'UTC')"


_FRESHNESS = text(
    f"""
    WITH stale AS (
        SELECT p.pipeline_id, p.last_dml_at, p.freshness_number, p.freshness_datepart,
               {due_at("p.last_dml_at", "p.freshness_number", "p.freshness_datepart")} AS due_at
        FROM pipeline_settings p
        WHERE p.active
          AND NOT p.mute_freshness_check
          AND p.freshness_number IS NOT NULL
          AND p.freshness_datepart IS NOT NULL
          AND p.last_dml_at IS NOT NULL
    ),
    logged AS (
        INSERT INTO freshness_log (pipeline_id, last_dml_at, due_at, freshness_number, freshness_datepart)
        SELECT s.pipeline_id, s.last_dml_at, s.due_at, s.freshness_number, s.freshness_datepart
        FROM stale s
        WHERE s.due_at < CAST(:now AS timestamptz)
          AND NOT EXISTS (
              SELECT 1 FROM freshness_log f
              WHERE f.pipeline_id = s.pipeline_id AND f.last_dml_at = s.last_dml_at
          )
        ORDER BY s.pipeline_id
        ON CONFLICT (pipeline_id, last_dml_at) DO NOTHING
        RETURNING pipeline_id, last_dml_at, due_at, freshness_number, freshness_datepart
    )
    SELECT l.pipeline_id, p.name AS pipeline_name, p.pipeline_type_id, l.last_dml_at, l.due_at,
           l.freshness_number, l.freshness_datepart
    FROM logged l JOIN pipeline_settings p ON p.pipeline_id = l.pipeline_id
    ORDER BY l.pipeline_id
    """
)

# Runs that started within the lookback (and not after `now`): a running one is late once `now` passes its due
# time, a successful one when it ended after it; a failed one is never late.
_TIMELINESS = text(
    f"""
    WITH recent AS (
        SELECT e.execution_id, e.pipeline_id, e.start_date, e.end_date,
               CASE WHEN e.completed_successfully THEN 'succeeded' ELSE 'running' END AS status,
               p.timeliness_number, p.timeliness_datepart,
               {due_at("e.start_date", "p.timeliness_number", "p.timeliness_datepart")} AS due_at
        FROM execution_metric e
        JOIN pipeline_settings p ON p.pipeline_id = e.pipeline_id
        WHERE e.start_date >= CAST(:now AS timestamptz) - make_interval(mins => CAST(:lookback AS int))
          AND e.start_date <= CAST(:now AS timestamptz)
          AND (e.completed_successfully OR (e.completed_successfully IS NULL AND e.end_date IS NULL))
          AND p.active
          AND NOT p.mute_timeliness_check
          AND p.timeliness_number IS NOT NULL
          AND p.timeliness_datepart IS NOT NULL
    ),
    logged AS (
        INSERT INTO timeliness_log (pipeline_id, execution_id, status, start_date, end_date, due_at,
                                    timeliness_number, timeliness_datepart)
        SELECT r.pipeline_id, r.execution_id, r.status, r.start_date, r.end_date, r.due_at,
               r.timeliness_number, r.timeliness_datepart
        FROM recent r
        WHERE (CASE WHEN r.status = 'running' THEN CAST(:now AS timestamptz) ELSE r.end_date END) > r.due_at
          AND NOT EXISTS (SELECT 1 FROM timeliness_log t WHERE t.execution_id = r.execution_id)
        ORDER BY r.execution_id
        ON CONFLICT (execution_id) DO NOTHING
        RETURNING pipeline_id, execution_id, status, start_date, end_date, due_at, timeliness_number,
                  timeliness_datepart
    )
    SELECT l.execution_id, l.pipeline_id, p.name AS pipeline_name, p.pipeline_type_id, l.status, l.start_date,
           l.end_date, l.due_at, l.timeliness_number, l.timeliness_datepart
    FROM logged l JOIN pipeline_settings p ON p.pipeline_id = l.pipeline_id
    ORDER BY l.execution_id
    """
)


class Checks(Repository):
    """Freshness and timeliness violations found, logged once and returned with what an alert needs."""

    async def lock_check(self, check: str) -> None:
        """Hold the check's advisory lock until the transaction ends."""
        await self.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[check]})

    async def log_stale_pipelines(self, now: datetime) -> list[StalePipeline]:
        """Log every pipeline stale at `now` whose last DML timestamp was not logged stale before; return those."""
        result = await self.conn.execute(_FRESHNESS, {"now": now})
        return [StalePipeline(**row) for row in result.mappings()]

    async def log_late_executions(self, now: datetime, lookback_minutes: int) -> list[LateExecution]:
        """Log every execution started within the lookback that is late at `now` and was not logged before."""
        result = await self.conn.execute(_TIMELINESS, {"now": now, "lookback": lookback_minutes})
        return [LateExecution(**row) for row in result.mappings()]
