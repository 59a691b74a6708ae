"""The repository of executions: their hierarchy (a closure table), ends, anomaly flags and retention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update

from headwater.common.db.repository import Repository
from headwater.execution_tracking.adapters.db.tables import (
    CLOSURE_OF_INSERTED,
    RUN_FIELDS,
    pipeline_execution,
    pipeline_execution_closure,
)
from headwater.execution_tracking.domain.records import BatchCounts, ExecutionRecord, StartedExecution

RUN_COLUMNS = tuple(pipeline_execution.c[name] for name in RUN_FIELDS)
EXECUTION_COLUMNS = tuple(pipeline_execution.c[name] for name in ExecutionRecord.__struct_fields__)
END_FIELDS = (
    "id",
    "end_date",
    "completed_successfully",
    "duration_seconds",
    "throughput",
    "total_rows",
    "inserts",
    "updates",
    "soft_deletes",
    "execution_metadata",
)

# Runs that ended before the cutoff, or never ended and started before it; both found through the end_date index
# (NULLs included). Locked and skipped if busy, so a cleanup never waits on a run being written.
OLD_RUNS = text(
    """
    SELECT id FROM pipeline_execution
    WHERE end_date < :cutoff OR (end_date IS NULL AND start_date < :cutoff)
    ORDER BY id LIMIT :batch_size FOR UPDATE SKIP LOCKED
    """
)


def _json_texts(values: Sequence[Any]) -> list[str | None]:
    return [None if v is None else msgspec.json.encode(v).decode() for v in values]


class Executions(Repository):
    async def merge_anomaly_flags(self, patches: Mapping[int, Mapping[str, bool]]) -> int:
        """Set the given metric flags of each execution, keeping its other flags; one statement. Returns the
        number of executions found."""
        if not patches:
            return 0
        ids = sorted(patches)
        result = await self.write(
            text(
                "UPDATE pipeline_execution e "
                "SET anomaly_flags = COALESCE(e.anomaly_flags, '{}'::jsonb) || CAST(p.flags AS jsonb) "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:flags AS text[])) AS p(id, flags) WHERE e.id = p.id"
            ),
            {"ids": ids, "flags": _json_texts([dict(patches[i]) for i in ids])},
        )
        return result.rowcount

    async def id_by_run_id(self, run_id: str) -> int | None:
        stmt = select(pipeline_execution.c.id).where(pipeline_execution.c.run_id == run_id)
        return (await self.conn.execute(stmt)).scalar()

    async def run_for_end(self, run_id: str) -> StartedExecution | None:
        stmt = select(*RUN_COLUMNS).where(pipeline_execution.c.run_id == run_id).with_for_update()
        return await self.first(stmt, StartedExecution)

    async def run_state(self, run_id: str) -> ExecutionRecord | None:
        stmt = select(*EXECUTION_COLUMNS).where(pipeline_execution.c.run_id == run_id).with_for_update()
        return await self.first(stmt, ExecutionRecord)

    async def runs_for_end(self, run_ids: Sequence[str]) -> list[StartedExecution]:
        stmt = select(*RUN_COLUMNS).where(pipeline_execution.c.run_id.in_(run_ids)).with_for_update()
        return await self.all(stmt, StartedExecution)

    async def start_many(self, rows: Sequence[Mapping[str, Any]]) -> list[StartedExecution]:
        """Insert executions and their closure rows in one statement; runs that exist already are skipped.

        A row's parent must already be stored (the closure of a parent inserted by the same statement is not
        visible to it), so callers insert a batch in waves, parents first.
        """
        params = {c: [r[c] for r in rows] for c in RUN_FIELDS[1:]}
        result = await self.write(
            text(
                f"""
                WITH input AS (
                    SELECT * FROM unnest(
                        CAST(:pipeline_id AS bigint[]), CAST(:parent_id AS bigint[]), CAST(:run_id AS text[]),
                        CAST(:start_date AS timestamptz[]), CAST(:watermark AS text[]),
                        CAST(:next_watermark AS text[]), CAST(:hour_recorded AS smallint[]),
                        CAST(:date_recorded AS date[])
                    ) AS t(pipeline_id, parent_id, run_id, start_date, watermark, next_watermark,
                           hour_recorded, date_recorded)
                ),
                e AS (
                    INSERT INTO pipeline_execution
                        (pipeline_id, parent_id, run_id, start_date, watermark, next_watermark,
                         hour_recorded, date_recorded)
                    SELECT * FROM input
                    ON CONFLICT (run_id) DO NOTHING
                    RETURNING id, pipeline_id, parent_id, run_id, start_date, watermark, next_watermark,
                              hour_recorded, date_recorded
                ),
                c AS ({CLOSURE_OF_INSERTED})
                SELECT * FROM e
                """
            ),
            params,
        )
        return [StartedExecution(**row) for row in result.mappings()]

    async def end_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        params = {c: [r[c] for r in rows] for c in END_FIELDS}
        params["execution_metadata"] = _json_texts(params["execution_metadata"])
        await self.write(
            text(
                """
                UPDATE pipeline_execution AS e SET
                    end_date = v.end_date, completed_successfully = v.completed_successfully,
                    duration_seconds = v.duration_seconds, throughput = v.throughput, total_rows = v.total_rows,
                    inserts = v.inserts, updates = v.updates, soft_deletes = v.soft_deletes,
                    execution_metadata = v.execution_metadata::jsonb, updated_at = now()
                FROM unnest(
                    CAST(:id AS bigint[]), CAST(:end_date AS timestamptz[]), CAST(:completed_successfully AS boolean[]),
                    CAST(:duration_seconds AS bigint[]), CAST(:throughput AS float8[]), CAST(:total_rows AS bigint[]),
                    CAST(:inserts AS bigint[]), CAST(:updates AS bigint[]), CAST(:soft_deletes AS bigint[]),
                    CAST(:execution_metadata AS text[])
                ) AS v(id, end_date, completed_successfully, duration_seconds, throughput, total_rows, inserts,
                       updates, soft_deletes, execution_metadata)
                WHERE e.id = v.id
                """
            ),
            params,
        )

    async def attach(self, execution_id: int, parent_id: int) -> bool:
        """Give a root execution its parent, with the closure rows of its whole subtree; False (and nothing
        done) when the execution already has a parent or the parent is inside its subtree (a cycle)."""
        params = {"child": execution_id, "parent": parent_id}
        result = await self.write(
            text(
                """
                UPDATE pipeline_execution SET parent_id = :parent, updated_at = now()
                WHERE id = :child AND parent_id IS NULL AND NOT EXISTS (
                    SELECT 1 FROM pipeline_execution_closure
                    WHERE parent_execution_id = :child AND child_execution_id = :parent
                )
                """
            ),
            params,
        )
        if result.rowcount == 0:
            return False
        await self.write(
            text(
                """
                INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
                SELECT a.parent_execution_id, d.child_execution_id, a.depth + d.depth + 1
                FROM pipeline_execution_closure a CROSS JOIN pipeline_execution_closure d
                WHERE a.child_execution_id = :parent AND d.parent_execution_id = :child
                ON CONFLICT DO NOTHING
                """
            ),
            params,
        )
        return True

    async def update(self, execution_id: int, values: Mapping[str, Any]) -> None:
        await self.write(
            update(pipeline_execution)
            .where(pipeline_execution.c.id == execution_id)
            .values(**values, updated_at=func.now())
        )

    async def tree(self, execution_id: int) -> list[ExecutionRecord]:
        """The execution and all its descendants, shallowest first (from the closure table)."""
        c = pipeline_execution_closure
        stmt = (
            select(*EXECUTION_COLUMNS)
            .select_from(c.join(pipeline_execution, pipeline_execution.c.id == c.c.child_execution_id))
            .where(c.c.parent_execution_id == execution_id)
            .order_by(c.c.depth, pipeline_execution.c.id)
        )
        return await self.all(stmt, ExecutionRecord)

    async def delete_old(self, cutoff: datetime, batch_size: int) -> BatchCounts:
        """Delete up to `batch_size` old runs and everything that points at them (closure rows, run datasets,
        then the runs), in the caller's transaction."""
        found = await self.conn.execute(OLD_RUNS, {"cutoff": cutoff, "batch_size": batch_size})
        ids = list(found.scalars())
        if not ids:
            return BatchCounts()
        params = {"ids": ids}

        async def delete(table: str, column: str) -> int:
            sql = f"DELETE FROM {table} WHERE {column} = ANY(CAST(:ids AS bigint[]))"
            return (await self.write(text(sql), params)).rowcount

        parent = await delete("pipeline_execution_closure", "parent_execution_id")
        child = await delete("pipeline_execution_closure", "child_execution_id")
        await delete("run_dataset", "execution_id")
        runs = await delete("pipeline_execution", "id")
        return BatchCounts(executions=runs, closure_parent=parent, closure_child=child)
