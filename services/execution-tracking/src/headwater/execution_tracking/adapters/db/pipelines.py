"""Repositories of pipeline types and pipelines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, text, update

from headwater.execution_tracking.adapters.db.base import Rows
from headwater.execution_tracking.adapters.db.tables import TYPE_SETTINGS, pipeline, pipeline_type
from headwater.execution_tracking.domain.records import (
    PipelineRecord,
    PipelineTypeRecord,
    PipelineWithType,
    SloSettings,
)

STAMPS = ("last_target_insert", "last_target_update", "last_target_soft_delete")


def pipeline_with_type(**row: Any) -> PipelineWithType:
    """A pipeline row with its type's name and settings (columns `type_name` and `type_<setting>`)."""
    settings = SloSettings(**{name: row.pop(f"type_{name}") for name in TYPE_SETTINGS})
    return PipelineWithType(**row, type_settings=settings)


def _with_type() -> Select[Any]:
    return select(
        *pipeline.c,
        pipeline_type.c.name.label("type_name"),
        *(pipeline_type.c[name].label(f"type_{name}") for name in TYPE_SETTINGS),
    ).join(pipeline_type, pipeline_type.c.id == pipeline.c.pipeline_type_id)


class PipelineTypes(Rows[PipelineTypeRecord]):
    table = pipeline_type
    columns = tuple(pipeline_type.c)
    record = PipelineTypeRecord

    async def get_or_create(self, name: str) -> int:
        created = await self.insert_if_absent({"name": name})
        if created is not None:
            return created
        existing = await self.id_by_name(name)
        assert existing is not None
        return existing


class Pipelines(Rows[PipelineRecord]):
    table = pipeline
    columns = tuple(pipeline.c)
    record = PipelineRecord

    async def with_type(self, pipeline_ids: Sequence[int]) -> list[PipelineWithType]:
        stmt = _with_type().where(pipeline.c.id.in_(pipeline_ids)).order_by(pipeline.c.id)
        return await self.all(stmt, pipeline_with_type)

    async def with_type_by(self, ids: Sequence[int], names: Sequence[str]) -> list[PipelineWithType]:
        cond: ColumnElement[bool] = pipeline.c.id.in_(ids) | pipeline.c.name.in_(names)
        return await self.all(_with_type().where(cond), pipeline_with_type)

    async def lock_with_type(self, name: str) -> PipelineWithType | None:
        stmt = _with_type().where(pipeline.c.name == name).with_for_update(of=pipeline)
        return await self.first(stmt, pipeline_with_type)

    async def ids_of_type(self, type_id: int) -> list[int]:
        stmt = select(pipeline.c.id).where(pipeline.c.pipeline_type_id == type_id)
        return list((await self.conn.execute(stmt)).scalars())

    async def record_success(self, pipeline_id: int, stamps: Mapping[str, datetime]) -> None:
        await self.write(
            update(pipeline)
            .where(pipeline.c.id == pipeline_id)
            .values(watermark=pipeline.c.next_watermark, load_lineage=False, **stamps)
        )

    async def record_successes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        params = {c: [r[c] for r in rows] for c in ("pipeline_id", *STAMPS)}
        await self.write(
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
