"""Repositories over the `execution_tracking` tables, bound to the unit of work's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import RowMapping, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.execution_tracking.adapters.db.tables import (
    CLOSURE_OF_INSERTED,
    RUN_FIELDS,
    TYPE_SETTINGS,
    pipeline,
    pipeline_execution,
    pipeline_execution_closure,
    pipeline_type,
)

# A row as the service layer reads it: column name to value (SQLAlchemy's RowMapping, asyncpg's Record, a dict).
Row = Mapping[Any, Any]

PIPELINE_TYPE_COLUMNS = tuple(c for c in pipeline_type.c)
PIPELINE_COLUMNS = tuple(c for c in pipeline.c if c.name != "request_digest")
EXECUTION_COLUMNS = tuple(pipeline_execution.c)


def is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UniqueViolation" in type(exc.orig).__name__


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23503" or "ForeignKeyViolation" in type(exc.orig).__name__


class PipelineTypes:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None:
        """Insert a type; None when one of that name exists (it is not updated)."""
        stmt = (
            insert(pipeline_type)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(pipeline_type.c.id)
        )
        return (await self.conn.execute(stmt)).scalar()

    async def id_by_name(self, name: str) -> int | None:
        return (
            await self.conn.execute(select(pipeline_type.c.id).where(pipeline_type.c.name == name))
        ).scalar()

    async def get_or_create(self, name: str) -> int:
        created = await self.insert_if_absent({"name": name})
        if created is not None:
            return created
        existing = await self.id_by_name(name)
        assert existing is not None
        return existing

    async def get(self, type_id: int) -> RowMapping | None:
        return (
            (await self.conn.execute(select(*PIPELINE_TYPE_COLUMNS).where(pipeline_type.c.id == type_id)))
            .mappings()
            .first()
        )

    async def find(self, *, type_id: int | None, name: str | None) -> RowMapping | None:
        cond = pipeline_type.c.id == type_id if type_id is not None else pipeline_type.c.name == name
        return (
            (await self.conn.execute(select(*PIPELINE_TYPE_COLUMNS).where(cond).with_for_update()))
            .mappings()
            .first()
        )

    async def list(self) -> Sequence[RowMapping]:
        return (
            (await self.conn.execute(select(*PIPELINE_TYPE_COLUMNS).order_by(pipeline_type.c.id)))
            .mappings()
            .all()
        )

    async def update(self, type_id: int, values: Mapping[str, Any]) -> RowMapping:
        stmt = (
            update(pipeline_type)
            .where(pipeline_type.c.id == type_id)
            .values(**values, updated_at=func.now())
            .returning(*PIPELINE_TYPE_COLUMNS)
        )
        return (await self.conn.execute(stmt)).mappings().one()


class Pipelines:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None:
        stmt = (
            insert(pipeline)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(pipeline.c.id)
        )
        return (await self.conn.execute(stmt)).scalar()

    async def find_for_update(
        self, *, pipeline_id: int | None = None, name: str | None = None
    ) -> RowMapping | None:
        cond = pipeline.c.id == pipeline_id if pipeline_id is not None else pipeline.c.name == name
        stmt = select(*pipeline.c).where(cond).with_for_update()
        return (await self.conn.execute(stmt)).mappings().first()

    async def get(self, pipeline_id: int) -> RowMapping | None:
        return (
            (await self.conn.execute(select(*PIPELINE_COLUMNS).where(pipeline.c.id == pipeline_id)))
            .mappings()
            .first()
        )

    async def list(self) -> Sequence[RowMapping]:
        return (await self.conn.execute(select(*PIPELINE_COLUMNS).order_by(pipeline.c.id))).mappings().all()

    async def update(self, pipeline_id: int, values: Mapping[str, Any]) -> RowMapping:
        stmt = (
            update(pipeline)
            .where(pipeline.c.id == pipeline_id)
            .values(**values, updated_at=func.now())
            .returning(*pipeline.c)
        )
        return (await self.conn.execute(stmt)).mappings().one()

    async def with_type(self, pipeline_ids: Sequence[int]) -> Sequence[RowMapping]:
        """Pipelines with the settings of their type (prefixed `type_`), for building events."""
        stmt = _pipelines_with_type().where(pipeline.c.id.in_(pipeline_ids)).order_by(pipeline.c.id)
        return (await self.conn.execute(stmt)).mappings().all()

    async def lock_with_type(self, name: str) -> RowMapping | None:
        """The pipeline named so, with its type's name and settings (`type_*`), locked."""
        stmt = _pipelines_with_type().where(pipeline.c.name == name).with_for_update(of=pipeline)
        return (await self.conn.execute(stmt)).mappings().first()

    async def ids_of_type(self, type_id: int) -> list[int]:
        return list(
            (
                await self.conn.execute(select(pipeline.c.id).where(pipeline.c.pipeline_type_id == type_id))
            ).scalars()
        )

    async def record_success(self, pipeline_id: int, stamps: Mapping[str, datetime]) -> None:
        """The watermark handshake and the `last_target_*` stamps of a successful end; lineage reloads stop."""
        await self.conn.execute(
            update(pipeline)
            .where(pipeline.c.id == pipeline_id)
            .values(watermark=pipeline.c.next_watermark, load_lineage=False, **stamps)
        )


class Executions:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def merge_anomaly_flags(self, patches: Mapping[int, Mapping[str, bool]]) -> int:
        """Set the given metric flags of each execution, keeping its other flags; one statement. Returns the
        number of executions found."""
        if not patches:
            return 0
        ids = sorted(patches)
        result = await self.conn.execute(
            text(
                "UPDATE pipeline_execution e "
                "SET anomaly_flags = COALESCE(e.anomaly_flags, '{}'::jsonb) || CAST(p.flags AS jsonb) "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:flags AS text[])) AS p(id, flags) WHERE e.id = p.id"
            ),
            {"ids": ids, "flags": [msgspec.json.encode(dict(patches[i])).decode() for i in ids]},
        )
        return result.rowcount

    async def run_for_end(self, run_id: str) -> RowMapping | None:
        """The execution with this producer-chosen run id, locked for the rest of the transaction."""
        stmt = select(*RUN_COLUMNS).where(pipeline_execution.c.run_id == run_id).with_for_update()
        return (await self.conn.execute(stmt)).mappings().first()

    async def id_by_run_id(self, run_id: str) -> int | None:
        return (
            await self.conn.execute(
                select(pipeline_execution.c.id).where(pipeline_execution.c.run_id == run_id)
            )
        ).scalar()

    async def run_state(self, run_id: str) -> RowMapping | None:
        """Everything stored of the execution with this run id, locked for the rest of the transaction."""
        stmt = select(*EXECUTION_COLUMNS).where(pipeline_execution.c.run_id == run_id).with_for_update()
        return (await self.conn.execute(stmt)).mappings().first()

    async def attach(self, execution_id: int, parent_id: int) -> bool:
        """Give a root execution its parent, with the closure rows of its whole subtree; False (and nothing
        done) when the execution already has a parent or the parent is inside its subtree (a cycle)."""
        result = await self.conn.execute(
            text(
                """
                UPDATE pipeline_execution SET parent_id = :parent, updated_at = now()
                WHERE id = :child AND parent_id IS NULL AND NOT EXISTS (
                    SELECT 1 FROM pipeline_execution_closure
                    WHERE parent_execution_id = :child AND child_execution_id = :parent
                )
                """
            ),
            {"child": execution_id, "parent": parent_id},
        )
        if result.rowcount == 0:
            return False
        await self.conn.execute(
            text(
                """
                INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
                SELECT a.parent_execution_id, d.child_execution_id, a.depth + d.depth + 1
                FROM pipeline_execution_closure a CROSS JOIN pipeline_execution_closure d
                WHERE a.child_execution_id = :parent AND d.parent_execution_id = :child
                ON CONFLICT DO NOTHING
                """
            ),
            {"child": execution_id, "parent": parent_id},
        )
        return True

    async def end(self, execution_id: int, values: Mapping[str, Any]) -> None:
        await self.update(execution_id, values)

    async def update(self, execution_id: int, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            update(pipeline_execution)
            .where(pipeline_execution.c.id == execution_id)
            .values(**values, updated_at=func.now())
        )

    async def tree(self, execution_id: int) -> Sequence[RowMapping]:
        """The execution and all its descendants, shallowest first (from the closure table)."""
        c = pipeline_execution_closure
        stmt = (
            select(*EXECUTION_COLUMNS, c.c.depth)
            .select_from(c.join(pipeline_execution, pipeline_execution.c.id == c.c.child_execution_id))
            .where(c.c.parent_execution_id == execution_id)
            .order_by(c.c.depth, pipeline_execution.c.id)
        )
        return (await self.conn.execute(stmt)).mappings().all()


class ExecutionBatches:
    """Set-based statements for batches of runs (the `ingress.runs` consumer): a few statements per batch."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def pipelines_with_type(self, ids: Sequence[int], names: Sequence[str]) -> Sequence[RowMapping]:
        stmt = _pipelines_with_type().where(pipeline.c.id.in_(ids) | pipeline.c.name.in_(names))
        return (await self.conn.execute(stmt)).mappings().all()

    async def by_run_ids(self, run_ids: Sequence[str]) -> Sequence[RowMapping]:
        """Executions with these run ids, locked for the rest of the transaction."""
        stmt = select(*RUN_COLUMNS).where(pipeline_execution.c.run_id.in_(run_ids)).with_for_update()
        return (await self.conn.execute(stmt)).mappings().all()

    async def start_many(self, rows: Sequence[Mapping[str, Any]]) -> Sequence[RowMapping]:
        """Insert executions and their closure rows in one statement; runs that exist already are skipped.

        A row's parent must already be stored (the closure of a parent inserted by the same statement is not
        visible to it), so callers insert a batch in waves, parents first.
        """
        params = {c: [r[c] for r in rows] for c in RUN_FIELDS[1:]}
        result = await self.conn.execute(
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
        return result.mappings().all()

    async def end_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        cols = (
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
        params = {c: [r[c] for r in rows] for c in cols}
        params["execution_metadata"] = [
            None if m is None else msgspec.json.encode(m).decode() for m in params["execution_metadata"]
        ]
        await self.conn.execute(
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

    async def record_successes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Per pipeline: the watermark handshake, and each `last_target_*` set when the batch has a value."""
        cols = ("pipeline_id", "last_target_insert", "last_target_update", "last_target_soft_delete")
        params = {c: [r[c] for r in rows] for c in cols}
        await self.conn.execute(
            text(
                """
                UPDATE pipeline AS p SET
                    watermark = p.next_watermark, load_lineage = false,
                    last_target_insert = COALESCE(v.lti, p.last_target_insert),
                    last_target_update = COALESCE(v.ltu, p.last_target_update),
                    last_target_soft_delete = COALESCE(v.ltsd, p.last_target_soft_delete)
                FROM unnest(
                    CAST(:pipeline_id AS bigint[]), CAST(:last_target_insert AS timestamptz[]),
                    CAST(:last_target_update AS timestamptz[]), CAST(:last_target_soft_delete AS timestamptz[])
                ) AS v(id, lti, ltu, ltsd)
                WHERE p.id = v.id
                """
            ),
            params,
        )


RUN_COLUMNS = tuple(pipeline_execution.c[name] for name in RUN_FIELDS)


def _pipelines_with_type() -> Any:
    return select(
        *pipeline.c,
        pipeline_type.c.name.label("type_name"),
        *(pipeline_type.c[name].label(f"type_{name}") for name in TYPE_SETTINGS),
    ).join(pipeline_type, pipeline_type.c.id == pipeline.c.pipeline_type_id)
