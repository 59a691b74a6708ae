"""Use cases for pipeline types and pipelines: upsert, patch, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headwater.common.contracts.watcher import DEFAULT_LIST_LIMIT
from headwater.common.errors import Invalid
from headwater.common.events import PipelineChanged, PipelineSlo
from headwater.common.records import project
from headwater.execution_tracking.domain.records import PipelineRecord, PipelineTypeRecord, PipelineWithType
from headwater.execution_tracking.domain.rules import Datepart, normalise, request_digest, watermark_text
from headwater.execution_tracking.service_layer.editing import (
    get_by_id,
    list_page,
    patch_fields,
    patch_row,
    upsert_by_name,
)
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
            fields[name] = checked_watermark(name, fields[name])
    return fields


def checked_watermark(name: str, value: str | int | None) -> str | None:
    """A watermark as stored (text), at most 50 characters; `name` is the field it was sent as."""
    text = watermark_text(value)
    if text is not None and len(text) > 50:
        raise Invalid(f"`{name}` must be at most 50 characters")
    return text


# -- pipeline types ---------------------------------------------------------------------------------------------


async def upsert_pipeline_type(uow: UnitOfWork, fields: dict[str, Any]) -> tuple[int, bool]:
    """Get-or-create by name: (id, created). An existing type is returned unchanged."""
    return await upsert_by_name(uow, lambda u: u.pipeline_types, check_settings(fields))


async def patch_pipeline_type(uow: UnitOfWork, fields: dict[str, Any]) -> PipelineTypeRecord:
    """Set every field sent on the type found by `id` (or by `name` when no id is sent)."""
    target, fields = patch_fields(fields, check_settings, "pipeline type")

    async def changed(uow: UnitOfWork, row: PipelineTypeRecord) -> None:
        await publish_pipeline_changes(uow, await uow.pipelines.ids_of_type(row.id))

    return await patch_row(
        uow,
        lambda u: u.pipeline_types,
        target,
        fields,
        what="pipeline type",
        duplicate=f"a pipeline type named {fields.get('name')!r} already exists",
        changed=changed,
        even_unchanged=True,  # its pipelines' events are published again all the same
    )


async def get_pipeline_type(uow: UnitOfWork, type_id: int) -> PipelineTypeRecord:
    return await get_by_id(uow, lambda u: u.pipeline_types, type_id, "pipeline type")


async def list_pipeline_types(
    uow: UnitOfWork, *, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0
) -> Sequence[PipelineTypeRecord]:
    return await list_page(uow, lambda u: u.pipeline_types, limit=limit, offset=offset)


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
            await publish_pipeline_changes(uow, [created])
            await uow.commit()
            return PipelineUpsert(id=created, created=True, active=True, load_lineage=True, watermark=None)
        current = await uow.pipelines.locked(None, fields["name"])
        assert current is not None
        row = current
        if current.request_digest != digest:
            row = await uow.pipelines.update(current.id, values)
            await publish_pipeline_changes(uow, [current.id])
            await uow.commit()
        return PipelineUpsert(
            id=row.id,
            created=False,
            active=row.active,
            load_lineage=row.load_lineage,
            watermark=row.watermark if "next_watermark" in fields else None,
        )


async def patch_pipeline(uow: UnitOfWork, fields: dict[str, Any]) -> PipelineRecord:
    """Set every field sent on the pipeline found by `id` (or by `name` when no id is sent)."""
    target, fields = patch_fields(fields, check_settings, "pipeline")

    async def changed(uow: UnitOfWork, row: PipelineRecord) -> None:
        await publish_pipeline_changes(uow, [row.id])

    return await patch_row(
        uow,
        lambda u: u.pipelines,
        target,
        fields,
        what="pipeline",
        duplicate=f"a pipeline named {fields.get('name')!r} already exists",
        missing=f"pipeline type {fields.get('pipeline_type_id')} not found",
        changed=changed,
    )


async def get_pipeline(uow: UnitOfWork, pipeline_id: int) -> PipelineRecord:
    return await get_by_id(uow, lambda u: u.pipelines, pipeline_id, "pipeline")


async def list_pipelines(
    uow: UnitOfWork, *, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0
) -> Sequence[PipelineRecord]:
    return await list_page(uow, lambda u: u.pipelines, limit=limit, offset=offset)


# -- events -----------------------------------------------------------------------------------------------------


def effective_slo(pipeline: PipelineWithType) -> PipelineSlo:
    """The pipeline's own number/datepart win over its type's; muting either one mutes the check."""
    own, inherited = pipeline, pipeline.type_settings
    freshness = own if own.freshness_number is not None else inherited
    timeliness = own if own.timeliness_number is not None else inherited
    return PipelineSlo(
        freshness_number=freshness.freshness_number,
        freshness_datepart=freshness.freshness_datepart,
        mute_freshness_check=own.mute_freshness_check or inherited.mute_freshness_check,
        timeliness_number=timeliness.timeliness_number,
        timeliness_datepart=timeliness.timeliness_datepart,
        mute_timeliness_check=own.mute_timeliness_check or inherited.mute_timeliness_check,
    )


def pipeline_changed(pipeline: PipelineWithType) -> PipelineChanged:
    """The `pipeline.changed` event of a pipeline as it now is."""
    return project(
        PipelineChanged,
        pipeline,
        pipeline_id=pipeline.id,
        pipeline_type_name=pipeline.type_name,
        slo=effective_slo(pipeline),
    )


async def publish_pipeline_changes(uow: UnitOfWork, pipeline_ids: Sequence[int]) -> None:
    """Inside the caller's open `uow`: publish `pipeline.changed` for each of these pipelines as it now is
    (re-read with its type's settings); nothing for no ids."""
    if pipeline_ids:
        uow.publish(*(pipeline_changed(p) for p in await uow.pipelines.with_type(pipeline_ids)))
