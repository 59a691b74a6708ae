"""The typed records repositories return and use cases work on: pipeline types, pipelines, executions (and
what ending one writes), addresses, lineage edges and what a retention batch deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from msgspec import Struct

from headwater.common.contracts import watcher
from headwater.common.events import ExecutionEnded


class SloSettings(watcher.SloSettings, frozen=True, kw_only=True):
    """Freshness and timeliness expectations: a number of dateparts each, and whether the check is muted.

    A pipeline type has them, and so does each pipeline (its own number/datepart win over its type's)."""


class PipelineTypeRecord(watcher.PipelineType, frozen=True, kw_only=True):
    """A stored pipeline type: the fields the API answers with."""


class PipelineRecord(watcher.Pipeline, frozen=True, kw_only=True):
    """A stored pipeline: the fields the API answers with, and one of its own."""

    # The digest of the last upsert request, to tell whether a new one differs (not part of any answer).
    request_digest: str | None = None


class PipelineWithType(PipelineRecord, frozen=True, kw_only=True):
    """A pipeline with its type's name and settings: what its events are built from."""

    type_name: str
    type_settings: SloSettings


class StartedExecution(Struct, frozen=True, kw_only=True):
    """What an execution is known by once started: the columns an end needs."""

    id: int
    pipeline_id: int
    parent_id: int | None
    run_id: str | None
    start_date: datetime
    watermark: str | None
    next_watermark: str | None
    hour_recorded: int
    date_recorded: date


class ExecutionRecord(StartedExecution, frozen=True, kw_only=True):
    """Everything stored of an execution; a run started a moment ago has none of the end's columns."""

    end_date: datetime | None = None
    duration_seconds: int | None = None
    completed_successfully: bool | None = None
    inserts: int | None = None
    updates: int | None = None
    soft_deletes: int | None = None
    total_rows: int | None = None
    execution_metadata: dict[str, Any] | None = None
    anomaly_flags: dict[str, bool] | None = None
    throughput: float | None = None


@dataclass(frozen=True)
class EndPlan:
    """What ending an execution writes: its columns, the pipeline's `last_target_*` stamps on success (None
    for a failure, which changes nothing on the pipeline) and the `execution.ended` event."""

    values: dict[str, Any]
    stamps: dict[str, datetime] | None
    event: ExecutionEnded


class AddressTypeRecord(watcher.AddressType, frozen=True, kw_only=True):
    """A stored address type: the fields the API answers with."""


class AddressRecord(watcher.Address, frozen=True, kw_only=True):
    """A stored address: the fields the API answers with."""


class DescribedAddress(Struct, frozen=True, kw_only=True):
    """An address with its type's name and group, as lineage events and graphs show it."""

    id: int
    name: str
    address_type_id: int
    address_type_name: str
    address_type_group_name: str
    database_name: str | None
    schema_name: str | None
    table_name: str | None


class StoredAddress(Struct, frozen=True):
    """An address after a get-or-create, and whether this call created it."""

    id: int
    name: str
    created: bool


Pair = tuple[int, int]


@dataclass(frozen=True)
class EdgeChange:
    """A pipeline's edges after a replace, and what the replace added and removed."""

    edges: list[Pair]
    added: list[Pair]
    removed: list[Pair]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass
class Walk:
    """What a lineage graph walk reached: address id -> hops from the start, and edge -> the pipelines
    declaring it."""

    depth: dict[int, int] = field(default_factory=dict[int, int])
    edges: dict[Pair, set[int]] = field(default_factory=dict[Pair, set[int]])
    truncated: bool = False

    def add_edge(self, source: int, target: int, pipeline_id: int) -> None:
        self.edges.setdefault((source, target), set()).add(pipeline_id)


@dataclass
class BatchCounts:
    """What one retention batch deleted."""

    executions: int = 0
    closure_parent: int = 0
    closure_child: int = 0
