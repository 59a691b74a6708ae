"""Events produced by execution-tracking; all keyed by pipeline id so one pipeline's facts stay in order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from headwater.common.events.base import PipelineEvent


class PipelineSlo(msgspec.Struct, frozen=True, kw_only=True):
    """A pipeline's effective freshness and timeliness settings.

    The pipeline's own number/datepart win over its type's; a check is muted when either the pipeline or its
    type mutes it. `None` number means the check does not apply to this pipeline.
    """

    freshness_number: int | None = None
    freshness_datepart: str | None = None
    mute_freshness_check: bool = False
    timeliness_number: int | None = None
    timeliness_datepart: str | None = None
    mute_timeliness_check: bool = False


class PipelineChanged(PipelineEvent, frozen=True, kw_only=True, tag="pipeline.changed.v1"):
    """A pipeline was created or any of its settings changed.

    Producer: execution-tracking, after `POST /pipeline` (create or update), `PATCH /pipeline`, a type patch
    that changes the pipeline's effective settings, and a successful end (watermark, `last_target_*`).
    Topic `pipeline.changed`, key: pipeline id. Carries the whole current state, so the latest event is all a
    consumer needs.
    """

    name: str
    pipeline_type_id: int
    pipeline_type_name: str
    active: bool
    load_lineage: bool
    watermark: str | None = None
    next_watermark: str | None = None
    pipeline_metadata: dict[str, Any] | None = None
    last_target_insert: datetime | None = None
    last_target_update: datetime | None = None
    last_target_soft_delete: datetime | None = None
    slo: PipelineSlo = msgspec.field(default_factory=PipelineSlo)


class _ExecutionFacts(PipelineEvent, frozen=True, kw_only=True):
    """What an execution is known by from its start on: both its events carry it."""

    execution_id: int
    pipeline_name: str
    parent_id: int | None = None
    run_id: str | None = None
    start_date: datetime
    hour_recorded: int
    date_recorded: date
    watermark: str | None = None
    next_watermark: str | None = None


class ExecutionStarted(_ExecutionFacts, frozen=True, kw_only=True, tag="execution.started.v1"):
    """A pipeline execution (run) started.

    Producer: execution-tracking, on `POST /start_pipeline_execution` and on a `run.started` report from
    `ingress.runs`. Topic `execution.started`, key: pipeline id.
    """


class ExecutionEnded(_ExecutionFacts, frozen=True, kw_only=True, tag="execution.ended.v1"):
    """A pipeline execution ended, successfully or not, with its computed metrics.

    Producer: execution-tracking, on `POST /end_pipeline_execution` and on a `run.ended` report from
    `ingress.runs`. Topic `execution.ended`, key: pipeline id. `duration_seconds` is end - start rounded to
    whole seconds; `throughput` is total_rows / duration rounded to 4 decimals (0 for a zero duration, null
    without total_rows). `slo` carries the pipeline's effective settings so consumers never call back.
    """

    pipeline_type_id: int
    end_date: datetime
    completed_successfully: bool
    duration_seconds: int
    throughput: float | None = None
    total_rows: int | None = None
    inserts: int | None = None
    updates: int | None = None
    soft_deletes: int | None = None
    slo: PipelineSlo = msgspec.field(default_factory=PipelineSlo)


class LineageAddress(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    address_type_name: str
    address_type_group_name: str


class LineageEdge(msgspec.Struct, frozen=True, kw_only=True):
    source_address_id: int
    target_address_id: int


class LineageChanged(PipelineEvent, frozen=True, kw_only=True, tag="lineage.changed.v1"):
    """A pipeline's lineage edges changed (edges added, removed, or both).

    Producer: execution-tracking, after `POST /address_lineage` and after OpenLineage events (over
    `POST /api/v1/lineage` or `ingress.lineage`) change the pipeline's latest run's inputs or outputs. Topic
    `lineage.changed`, key: pipeline id. Carries the pipeline's whole current edge set (`edges`) and what changed
    (`added`, `removed`), with every address any of them touches in `addresses`; `origin` is `watcher` or
    `openlineage`. Not published when a declaration repeats the current edges.
    """

    pipeline_name: str
    origin: str
    addresses: list[LineageAddress] = msgspec.field(default_factory=list)
    edges: list[LineageEdge] = msgspec.field(default_factory=list)
    added: list[LineageEdge] = msgspec.field(default_factory=list)
    removed: list[LineageEdge] = msgspec.field(default_factory=list)
