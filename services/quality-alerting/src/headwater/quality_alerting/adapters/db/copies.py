"""quality-alerting's own copies of execution-tracking's facts: pipeline settings and execution metrics.

Written from `pipeline.changed`, `execution.started` and `execution.ended`, one statement per kind per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from headwater.common.db.repository import Repository, columns
from headwater.common.events import ExecutionEnded, ExecutionStarted, PipelineChanged, PipelineSlo


def _last(items: Sequence[Any], key: str) -> list[Any]:
    """One item per key, the last one (one statement may not touch a row twice)."""
    return list({getattr(i, key): i for i in items}.values())


class Copies(Repository):
    """quality-alerting's copies of pipeline settings and execution metrics, one statement per kind per batch."""

    async def upsert_pipelines(self, events: Sequence[PipelineChanged]) -> None:
        """Keep each pipeline's latest settings; an event older than the stored state changes nothing."""
        events = _last(sorted(events, key=lambda e: e.occurred_at), "pipeline_id")
        if not events:
            return
        params = {
            **columns(events, "pipeline_id", "name", "pipeline_type_id", "pipeline_type_name", "active"),
            **columns([e.slo for e in events], *PipelineSlo.__struct_fields__),
            "last_dml_at": [
                max(
                    (t for t in (e.last_target_insert, e.last_target_update, e.last_target_soft_delete) if t),
                    default=None,
                )
                for e in events
            ],
            "as_of": [e.occurred_at for e in events],
        }
        await self.conn.execute(
            text(
                """
                INSERT INTO pipeline_settings AS p (pipeline_id, name, pipeline_type_id, pipeline_type_name, active,
                    freshness_number, freshness_datepart, mute_freshness_check, timeliness_number,
                    timeliness_datepart, mute_timeliness_check, last_dml_at, as_of)
                SELECT * FROM unnest(CAST(:pipeline_id AS bigint[]), CAST(:name AS text[]),
                    CAST(:pipeline_type_id AS bigint[]), CAST(:pipeline_type_name AS text[]),
                    CAST(:active AS boolean[]), CAST(:freshness_number AS int[]), CAST(:freshness_datepart AS text[]),
                    CAST(:mute_freshness_check AS boolean[]), CAST(:timeliness_number AS int[]),
                    CAST(:timeliness_datepart AS text[]), CAST(:mute_timeliness_check AS boolean[]),
                    CAST(:last_dml_at AS timestamptz[]), CAST(:as_of AS timestamptz[]))
                ORDER BY 1
                ON CONFLICT (pipeline_id) DO UPDATE SET
                    name = EXCLUDED.name, pipeline_type_id = EXCLUDED.pipeline_type_id,
                    pipeline_type_name = EXCLUDED.pipeline_type_name, active = EXCLUDED.active,
                    freshness_number = EXCLUDED.freshness_number, freshness_datepart = EXCLUDED.freshness_datepart,
                    mute_freshness_check = EXCLUDED.mute_freshness_check,
                    timeliness_number = EXCLUDED.timeliness_number,
                    timeliness_datepart = EXCLUDED.timeliness_datepart,
                    mute_timeliness_check = EXCLUDED.mute_timeliness_check,
                    last_dml_at = EXCLUDED.last_dml_at, as_of = EXCLUDED.as_of
                WHERE p.as_of <= EXCLUDED.as_of
                """
            ),
            params,
        )

    async def _write_last_per_execution(self, sql: str, events: Sequence[Any], names: Sequence[str]) -> None:
        """One statement for the last event of each execution, its columns `names` (none for no events)."""
        events = _last(events, "execution_id")
        if events:
            await self.conn.execute(text(sql), columns(events, *names))

    async def record_started(self, events: Sequence[ExecutionStarted]) -> None:
        """A row per started execution; one that already exists (its end came first, or a re-send) is kept."""
        await self._write_last_per_execution(
            """
            INSERT INTO execution_metric (execution_id, pipeline_id, start_date, hour_recorded, day_of_week)
            SELECT x, p, s, h, EXTRACT(ISODOW FROM s AT TIME ZONE 'UTC')
            FROM unnest(CAST(:execution_id AS bigint[]), CAST(:pipeline_id AS bigint[]),
                        CAST(:start_date AS timestamptz[]), CAST(:hour_recorded AS smallint[])) AS t(x, p, s, h)
            ORDER BY x
            ON CONFLICT (execution_id) DO NOTHING
            """,
            events,
            ("execution_id", "pipeline_id", "start_date", "hour_recorded"),
        )

    async def record_ended(self, events: Sequence[ExecutionEnded]) -> None:
        """Each ended execution's outcome and metrics (a re-ended execution is overwritten, as the reference does)."""
        await self._write_last_per_execution(
            """
            INSERT INTO execution_metric AS m (execution_id, pipeline_id, start_date, end_date, hour_recorded,
                day_of_week, completed_successfully, duration_seconds, inserts, updates, soft_deletes,
                total_rows, throughput)
            SELECT x, p, s, e, h, EXTRACT(ISODOW FROM s AT TIME ZONE 'UTC'), ok, d, i, u, sd, tr, tp
            FROM unnest(CAST(:execution_id AS bigint[]), CAST(:pipeline_id AS bigint[]),
                        CAST(:start_date AS timestamptz[]), CAST(:end_date AS timestamptz[]),
                        CAST(:hour_recorded AS smallint[]), CAST(:completed_successfully AS boolean[]),
                        CAST(:duration_seconds AS bigint[]), CAST(:inserts AS bigint[]),
                        CAST(:updates AS bigint[]), CAST(:soft_deletes AS bigint[]),
                        CAST(:total_rows AS bigint[]), CAST(:throughput AS float8[]))
                AS t(x, p, s, e, h, ok, d, i, u, sd, tr, tp)
            ORDER BY x
            ON CONFLICT (execution_id) DO UPDATE SET
                start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                hour_recorded = EXCLUDED.hour_recorded, day_of_week = EXCLUDED.day_of_week,
                completed_successfully = EXCLUDED.completed_successfully,
                duration_seconds = EXCLUDED.duration_seconds, inserts = EXCLUDED.inserts,
                updates = EXCLUDED.updates, soft_deletes = EXCLUDED.soft_deletes,
                total_rows = EXCLUDED.total_rows, throughput = EXCLUDED.throughput
            """,
            events,
            (
                "execution_id",
                "pipeline_id",
                "start_date",
                "end_date",
                "hour_recorded",
                "completed_successfully",
                "duration_seconds",
                "inserts",
                "updates",
                "soft_deletes",
                "total_rows",
                "throughput",
            ),
        )
