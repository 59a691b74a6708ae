"""Use cases for pipeline types and pipelines: upsert, patch, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from headwater.common.events import PipelineChanged, PipelineSlo
from headwater.execution_tracking.adapters.db.repositories import (
    Row,
    is_foreign_key_violation,
    is_unique_violation,
)
from headwater.execution_tracking.domain.rules import Datepart, normalise, request_digest, watermark_text
from headwater.execution_tracking.service_layer.errors import Conflict, Invalid, NotFound
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

SLO_PAIRS = (("freshness_number", "freshness_datepart"), ("timeliness_number", "timeliness_datepart"))
WATERMARKS = ("watermark", "next_watermark")


def check_settings(fields: dict[str, Any]) -> dict[str, Any]:
    """Normalise strings, check number/datepart pairs and dateparts, and turn watermarks into text."""
    fields = normalise(fields)
    for number, datepart in SLO_PAIRS:
        if (number in fields) != (datepart in fields) or (
            (fields.get(number) is None) != (fields.get(datepart) is None)
        ):
            raise Invalid(f"`{number}` and `{datepart}` must be sent together")
        value = fields.get(datepart)
        if value is not None and value not in Datepart.__members__.values():
            allowed = ", ".join(d.value for d in Datepart)
            raise Invalid(f"`{datepart}` must be one of {allowed}, not {value!r}")
        n = fields.get(number)
        if n is not None and n <= 0:
            raise Invalid(f"`{number}` must be greater than 0")
    for name in WATERMARKS:
        if name in fields:
            fields[name] = watermark_text(fields[name])
            if fields[name] is not None and len(fields[name]) > 50:
                raise Invalid(f"`{name}` must be at most 50 characters")
    return fields


# -- pipeline types ---------------------------------------------------------------------------------------------


async def upsert_pipeline_type(uow: UnitOfWork, fields: dict[str, Any]) -> tuple[int, bool]:
    """Get-or-create by name: (id, created). An existing type is returned unchanged."""
    fields = check_settings(fields)
    async with uow:
        created = await uow.pipeline_types.insert_if_absent(fields)
        if created is not None:
            await uow.commit()
            return created, True
        existing = await uow.pipeline_types.id_by_name(fields["name"])
        assert existing is not None
        return existing, False


async def patch_pipeline_type(uow: UnitOfWork, fields: dict[str, Any]) -> RowMapping:
    """Set every field sent on the type found by `id` (or by `name` when no id is sent)."""
    type_id = fields.pop("id", None)
    fields = check_settings(fields)
    name = fields.get("name") if type_id is None else None
    if type_id is None and name is None:
        raise Invalid("send the pipeline type's `id` or `name`")
    if type_id is None:
        fields.pop("name")
    async with uow:
        current = await uow.pipeline_types.find(type_id=type_id, name=name)
        if current is None:
            raise NotFound(f"pipeline type {type_id if type_id is not None else name!r} not found")
        try:
            row = await uow.pipeline_types.update(current["id"], fields) if fields else current
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Conflict(f"a pipeline type named {fields.get('name')!r} already exists") from exc
            raise
        await _publish_pipeline_changes(uow, await uow.pipelines.ids_of_type(row["id"]))
        await uow.commit()
        return row


async def get_pipeline_type(uow: UnitOfWork, type_id: int) -> RowMapping:
    async with uow:
        row = await uow.pipeline_types.get(type_id)
    if row is None:
        raise NotFound(f"pipeline type {type_id} not found")
    return row


async def list_pipeline_types(uow: UnitOfWork) -> Sequence[RowMapping]:
    async with uow:
        return await uow.pipeline_types.list()


# -- pipelines --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PipelineUpsert:
    """What `POST /pipeline` answers: 201 for a new pipeline, 200 for an existing one."""

    id: int
    created: bool
    active: bool
    load_lineage: bool
    watermark: str | None


async def upsert_pipeline(uow: UnitOfWork, fields: dict[str, Any]) -> PipelineUpsert:
    """Create the pipeline (and its type) or, when the request differs from the last one, update the fields sent.

    Mute flags, `load_lineage` and `active` never change here (only through PATCH).
    """
    fields = check_settings(fields)
    for ignored in ("mute_freshness_check", "mute_timeliness_check", "load_lineage", "active", "watermark"):
        fields.pop(ignored, None)
    digest = request_digest(fields)
    type_name = fields.pop("pipeline_type_name")
    async with uow:
        type_id = await uow.pipeline_types.get_or_create(type_name)
        values = {**fields, "pipeline_type_id": type_id, "request_digest": digest}
        created = await uow.pipelines.insert_if_absent(values)
        if created is not None:
            await _publish_pipeline_changes(uow, [created])
            await uow.commit()
            return PipelineUpsert(id=created, created=True, active=True, load_lineage=True, watermark=None)
        current = await uow.pipelines.find_for_update(name=fields["name"])
        assert current is not None
        row: Row = current
        if current["request_digest"] != digest:
            row = await uow.pipelines.update(current["id"], values)
            await _publish_pipeline_changes(uow, [current["id"]])
            await uow.commit()
        return PipelineUpsert(
            id=row["id"],
            created=False,
            active=row["active"],
            load_lineage=row["load_lineage"],
            watermark=row["watermark"] if "next_watermark" in fields else None,
        )


async def patch_pipeline(uow: UnitOfWork, fields: dict[str, Any]) -> RowMapping:
    """Set every field sent on the pipeline found by `id` (or by `name` when no id is sent)."""
    pipeline_id = fields.pop("id", None)
    fields = check_settings(fields)
    name = fields.get("name") if pipeline_id is None else None
    if pipeline_id is None and name is None:
        raise Invalid("send the pipeline's `id` or `name`")
    if pipeline_id is None:
        fields.pop("name")
    async with uow:
        current = await uow.pipelines.find_for_update(pipeline_id=pipeline_id, name=name)
        if current is None:
            raise NotFound(f"pipeline {pipeline_id if pipeline_id is not None else name!r} not found")
        if not fields:
            return current
        try:
            row = await uow.pipelines.update(current["id"], fields)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Conflict(f"a pipeline named {fields.get('name')!r} already exists") from exc
            if is_foreign_key_violation(exc):
                raise NotFound(f"pipeline type {fields.get('pipeline_type_id')} not found") from exc
            raise
        await _publish_pipeline_changes(uow, [row["id"]])
        await uow.commit()
        return row


async def get_pipeline(uow: UnitOfWork, pipeline_id: int) -> RowMapping:
    async with uow:
        row = await uow.pipelines.get(pipeline_id)
    if row is None:
        raise NotFound(f"pipeline {pipeline_id} not found")
    return row


async def list_pipelines(uow: UnitOfWork) -> Sequence[RowMapping]:
    async with uow:
        return await uow.pipelines.list()


# -- events -----------------------------------------------------------------------------------------------------


def effective_slo(row: Row) -> PipelineSlo:
    """The pipeline's own number/datepart win over its type's; muting either one mutes the check."""
    values: dict[str, Any] = {}
    for check in ("freshness", "timeliness"):
        own = row[f"{check}_number"] is not None
        source = "" if own else "type_"
        values[f"{check}_number"] = row[f"{source}{check}_number"]
        values[f"{check}_datepart"] = row[f"{source}{check}_datepart"]
        values[f"mute_{check}_check"] = bool(row[f"mute_{check}_check"] or row[f"type_mute_{check}_check"])
    return PipelineSlo(**values)


def pipeline_changed(row: Row) -> PipelineChanged:
    return PipelineChanged(
        pipeline_id=row["id"],
        name=row["name"],
        pipeline_type_id=row["pipeline_type_id"],
        pipeline_type_name=row["type_name"],
        active=row["active"],
        load_lineage=row["load_lineage"],
        watermark=row["watermark"],
        next_watermark=row["next_watermark"],
        pipeline_metadata=row["pipeline_metadata"],
        last_target_insert=row["last_target_insert"],
        last_target_update=row["last_target_update"],
        last_target_soft_delete=row["last_target_soft_delete"],
        slo=effective_slo(row),
    )


async def _publish_pipeline_changes(uow: UnitOfWork, pipeline_ids: Sequence[int]) -> None:
    if pipeline_ids:
        uow.publish(*(pipeline_changed(row) for row in await uow.pipelines.with_type(pipeline_ids)))
