"""The HTTP hot path on raw asyncpg: starting and ending executions in as few round trips as possible.

A start is two round trips and no explicit transaction: one reads the pipeline's name and reserves the new
execution's id from its sequence, one single statement inserts the execution, its closure rows and its outbox
event (a single statement is atomic). An end is four: BEGIN, the execution (and, for a success, its pipeline)
read and locked, one statement that writes the execution, the pipeline and the outbox events, COMMIT.
The rest of the service uses SQLAlchemy; this path measured several times slower through it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from headwater.common.db.engine import Timeouts
from headwater.common.events import Event
from headwater.common.messaging.outbox import outbox_columns
from headwater.execution_tracking.adapters.db.pipelines import pipeline_with_type
from headwater.execution_tracking.adapters.db.tables import (
    CLOSURE_OF_INSERTED,
    RUN_FIELDS,
    TYPE_SETTINGS,
    pipeline,
    pipeline_execution,
)
from headwater.execution_tracking.domain.records import EndPlan, PipelineWithType, StartedExecution

_EXECUTION = ", ".join(f"e.{c}" for c in RUN_FIELDS)
_PIPELINE = ", ".join(f"p.{c.name} AS p_{c.name}" for c in pipeline.c if c.name != "request_digest")
_TYPE = ", ".join(f"t.{c} AS p_type_{c}" for c in TYPE_SETTINGS)
_LOCK_SQL = f"""
    SELECT {_EXECUTION}, {_PIPELINE}, t.name AS p_type_name, {_TYPE}
    FROM pipeline_execution e
    JOIN pipeline p ON p.id = e.pipeline_id
    JOIN pipeline_type t ON t.id = p.pipeline_type_id
    WHERE e.id = $1
    FOR UPDATE OF e{{also}}
"""
_OUTBOX_INSERT = """
    INSERT INTO outbox (topic, key, event_type, event_id, payload, headers)
    SELECT topic, key, event_type, event_id, payload, headers::jsonb
    FROM unnest({0}::text[], {1}::text[], {2}::text[], {3}::text[], {4}::bytea[], {5}::text[])
        AS o(topic, key, event_type, event_id, payload, headers)
"""
_ID_SEQUENCE = f"{pipeline_execution.schema}.{pipeline_execution.name}_id_seq"


def _outbox_params(events: Sequence[Event]) -> list[list[Any]]:
    return list(outbox_columns(events).values())


class RunWriter:
    """Writes starts and ends of executions, with their outbox events, through an asyncpg pool (implements
    `service_layer.ports.RunWriter`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def reserve(self, pipeline_id: int) -> tuple[int, str | None]:
        """A fresh execution id and the pipeline's name (None when there is no such pipeline)."""
        row = await self._pool.fetchrow(
            f"SELECT nextval('{_ID_SEQUENCE}') AS id, (SELECT name FROM pipeline WHERE id = $1) AS name",
            pipeline_id,
        )
        assert row is not None
        return row["id"], row["name"]

    async def insert_started(self, execution: StartedExecution, events: Sequence[Event]) -> bool:
        """Insert the execution with its reserved id, its closure rows and `events`, in one statement.

        False (and nothing written) when its parent, or its pipeline since `reserve`, does not exist.
        """
        try:
            await self._execute_start(execution, events)
        except asyncpg.ForeignKeyViolationError:
            return False
        return True

    async def _execute_start(self, e: StartedExecution, events: Sequence[Event]) -> None:
        await self._pool.execute(
            f"""
            WITH e AS (
                INSERT INTO pipeline_execution
                    (id, pipeline_id, parent_id, run_id, start_date, watermark, next_watermark, hour_recorded,
                     date_recorded)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                RETURNING id, parent_id
            ),
            c AS ({CLOSURE_OF_INSERTED}),
            o AS ({_OUTBOX_INSERT.format("$10", "$11", "$12", "$13", "$14", "$15")})
            SELECT 1
            """,
            e.id,
            e.pipeline_id,
            e.parent_id,
            e.run_id,
            e.start_date,
            e.watermark,
            e.next_watermark,
            e.hour_recorded,
            e.date_recorded,
            *_outbox_params(events),
        )

    @asynccontextmanager
    async def ending(self) -> AsyncGenerator[Ending]:
        """A transaction in which to end one execution."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield Ending(conn)


class Ending:
    """Implements `service_layer.ports.Ending` on one pooled connection inside its transaction."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy) -> None:
        self._conn = conn

    async def lock(
        self, execution_id: int, *, with_pipeline: bool
    ) -> tuple[StartedExecution, PipelineWithType] | None:
        """The execution and its pipeline (with the type's settings), locked; None when missing.

        The pipeline row is locked too when the end will change it (a success).
        """
        row = await self._conn.fetchrow(_LOCK_SQL.format(also=", p" if with_pipeline else ""), execution_id)
        if row is None:
            return None
        execution = StartedExecution(**{k: v for k, v in row.items() if not k.startswith("p_")})
        pipeline_row = pipeline_with_type(**{k[2:]: v for k, v in row.items() if k.startswith("p_")})
        return execution, pipeline_row

    async def write(self, current: StartedExecution, plan: EndPlan, events: Sequence[Event]) -> None:
        """The execution's end, the pipeline's watermark handshake (on success) and the events, in one statement."""
        values, stamps = plan.values, plan.stamps or {}
        metadata = values["execution_metadata"]
        await self._conn.execute(
            f"""
            WITH e AS (
                UPDATE pipeline_execution SET
                    end_date = $2, completed_successfully = $3, duration_seconds = $4, throughput = $5,
                    total_rows = $6, inserts = $7, updates = $8, soft_deletes = $9,
                    execution_metadata = $10::text::jsonb, updated_at = now()
                WHERE id = $1
            ),
            p AS (
                UPDATE pipeline SET
                    watermark = next_watermark, load_lineage = false,
                    last_target_insert = COALESCE($13, last_target_insert),
                    last_target_update = COALESCE($14, last_target_update),
                    last_target_soft_delete = COALESCE($15, last_target_soft_delete)
                WHERE id = $11 AND $12::boolean
            ),
            o AS ({_OUTBOX_INSERT.format("$16", "$17", "$18", "$19", "$20", "$21")})
            SELECT 1
            """,
            current.id,
            values["end_date"],
            values["completed_successfully"],
            values["duration_seconds"],
            values["throughput"],
            values["total_rows"],
            values["inserts"],
            values["updates"],
            values["soft_deletes"],
            None if metadata is None else msgspec.json.encode(metadata).decode(),
            current.pipeline_id,
            plan.stamps is not None,
            stamps.get("last_target_insert"),
            stamps.get("last_target_update"),
            stamps.get("last_target_soft_delete"),
            *_outbox_params(events),
        )


async def create_pool(dsn: str, *, schema: str, size: int, timeouts: Timeouts) -> asyncpg.Pool:
    """The hot path's pool, bounded by the same database timeouts as the service's engine."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        server_settings={
            "search_path": schema,
            "application_name": f"headwater-{schema}-hot-path",
            **timeouts.server_settings(),
        },
        **timeouts.connect_args(),
    )
    assert pool is not None
    return pool


__all__ = ["Ending", "RunWriter", "create_pool"]
