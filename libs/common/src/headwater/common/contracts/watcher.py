"""The Watcher dialect (spec 000): request and response bodies, field names and shapes exactly as documented.

The answers a service's stored records extend (pipeline types, pipelines, addresses, rules) are frozen, as those
records are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from headwater.common.contracts.types import (
    MAX_LINEAGE_SIDE,
    NAMED,
    STORABLE,
    Count,
    Id,
    Word,
    check_lineage_edges,
    check_metadata,
    storable_json,
)

Name = Annotated[str, Meta(min_length=1, max_length=150, pattern=NAMED)]
# Stored as text of at most 50 characters (an int too).
Watermark = Annotated[str, Meta(max_length=50, pattern=STORABLE)] | int
Number = Annotated[int, Meta(le=2**31 - 1)]

# The Watcher lists (pipelines, pipeline types, addresses, address types) take no parameters in spec 000 and
# answer every row. Here they take optional `limit` and `offset` (rows in id order): the default is generous
# enough that a Watcher client listing a real installation gets everything, and bounds the answer otherwise.
DEFAULT_LIST_LIMIT = 10_000
MAX_LIST_LIMIT = 100_000


class _WithMetadata(Struct, kw_only=True):
    """A body with free-form JSON metadata (`metadata_fields`), refused when Postgres could not store it or it
    is too large to travel in an event."""

    metadata_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for field in self.metadata_fields:
            storable_json(field, getattr(self, field))
            check_metadata(field, getattr(self, field))


def sent(body: Struct) -> dict[str, Any]:
    """The fields the client actually sent (UNSET ones dropped)."""
    return {f: v for f in body.__struct_fields__ if (v := getattr(body, f)) is not UNSET}


class _Slo(Struct, kw_only=True):
    freshness_number: Number | UnsetType | None = UNSET
    freshness_datepart: Word | UnsetType | None = UNSET
    timeliness_number: Number | UnsetType | None = UNSET
    timeliness_datepart: Word | UnsetType | None = UNSET


class _SloAndMutes(_Slo, kw_only=True):
    mute_freshness_check: bool | UnsetType = UNSET
    mute_timeliness_check: bool | UnsetType = UNSET


class PipelineTypeCreate(_SloAndMutes, kw_only=True):
    name: Name


class PipelineTypeUpdate(_SloAndMutes, kw_only=True):
    id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET


class SloSettings(Struct, frozen=True, kw_only=True):
    """The freshness and timeliness settings a pipeline type answers with, and a pipeline too (a pipeline's own
    number/datepart win over its type's)."""

    freshness_number: int | None
    freshness_datepart: str | None
    mute_freshness_check: bool
    timeliness_number: int | None
    timeliness_datepart: str | None
    mute_timeliness_check: bool


class PipelineType(SloSettings, frozen=True, kw_only=True):
    id: int
    name: str
    created_at: datetime
    updated_at: datetime | None


class PipelineCreate(_Slo, _WithMetadata, kw_only=True):
    metadata_fields: ClassVar[tuple[str, ...]] = ("pipeline_metadata",)
    name: Name
    pipeline_type_name: Name
    next_watermark: Watermark | UnsetType | None = UNSET
    pipeline_metadata: dict[str, Any] | UnsetType | None = UNSET


class PipelineUpdate(_SloAndMutes, _WithMetadata, kw_only=True):
    metadata_fields: ClassVar[tuple[str, ...]] = ("pipeline_metadata",)
    id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    pipeline_type_id: Id | UnsetType = UNSET
    watermark: Watermark | UnsetType | None = UNSET
    next_watermark: Watermark | UnsetType | None = UNSET
    pipeline_metadata: dict[str, Any] | UnsetType | None = UNSET
    load_lineage: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class PipelineUpserted(Struct, kw_only=True):
    id: int
    active: bool
    load_lineage: bool
    watermark: str | None


class Pipeline(SloSettings, frozen=True, kw_only=True):
    id: int
    name: str
    pipeline_type_id: int
    watermark: str | None
    next_watermark: str | None
    pipeline_metadata: dict[str, Any] | None
    last_target_insert: datetime | None
    last_target_update: datetime | None
    last_target_soft_delete: datetime | None
    load_lineage: bool
    active: bool
    created_at: datetime
    updated_at: datetime | None


class ExecutionStart(Struct, kw_only=True):
    pipeline_id: Id
    start_date: datetime | None = None
    watermark: Watermark | None = None
    next_watermark: Watermark | None = None
    parent_id: Id | None = None


class ExecutionEnd(_WithMetadata, kw_only=True):
    metadata_fields: ClassVar[tuple[str, ...]] = ("execution_metadata",)
    id: Id
    end_date: datetime
    completed_successfully: bool
    total_rows: Count | None = None
    inserts: Count | None = None
    updates: Count | None = None
    soft_deletes: Count | None = None
    execution_metadata: dict[str, Any] | None = None


class Created(Struct):
    id: int


class Execution(Struct, kw_only=True):
    id: int
    parent_id: int | None
    pipeline_id: int
    start_date: datetime
    end_date: datetime | None
    duration_seconds: int | None
    completed_successfully: bool | None
    inserts: int | None
    updates: int | None
    soft_deletes: int | None
    total_rows: int | None
    watermark: str | None
    next_watermark: str | None
    execution_metadata: dict[str, Any] | None
    anomaly_flags: dict[str, bool] | None
    throughput: float | None
    child_executions: list[Execution] = msgspec.field(default_factory=list)


# -- addresses and lineage ----------------------------------------------------------------------------------------

ShortName = Annotated[str, Meta(max_length=50, pattern=STORABLE)]


class AddressTypeCreate(Struct, kw_only=True):
    name: Name
    group_name: Name


class AddressTypeUpdate(Struct, kw_only=True):
    id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    group_name: Name | UnsetType = UNSET


class AddressType(Struct, frozen=True, kw_only=True):
    id: int
    name: str
    group_name: str
    created_at: datetime
    updated_at: datetime | None


class AddressCreate(_WithMetadata, kw_only=True):
    metadata_fields: ClassVar[tuple[str, ...]] = ("address_metadata",)
    name: Name
    address_type_name: Name
    address_type_group_name: Name
    database_name: ShortName | UnsetType | None = UNSET
    schema_name: ShortName | UnsetType | None = UNSET
    table_name: ShortName | UnsetType | None = UNSET
    primary_key: ShortName | UnsetType | None = UNSET
    address_metadata: dict[str, Any] | UnsetType | None = UNSET


class AddressUpdate(_WithMetadata, kw_only=True):
    metadata_fields: ClassVar[tuple[str, ...]] = ("address_metadata",)
    id: Id
    name: Name | UnsetType = UNSET
    address_type_id: Id | UnsetType = UNSET
    database_name: ShortName | UnsetType | None = UNSET
    schema_name: ShortName | UnsetType | None = UNSET
    table_name: ShortName | UnsetType | None = UNSET
    primary_key: ShortName | UnsetType | None = UNSET
    address_metadata: dict[str, Any] | UnsetType | None = UNSET


class Address(Struct, frozen=True, kw_only=True):
    id: int
    name: str
    address_type_id: int
    database_name: str | None
    schema_name: str | None
    table_name: str | None
    primary_key: str | None
    address_metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime | None


LineageSide = Annotated[list[AddressCreate], Meta(max_length=MAX_LINEAGE_SIDE)]


class AddressLineageCreate(Struct, kw_only=True):
    """The pipeline's edges become sources x targets: at most `MAX_LINEAGE_EDGES` of them (see `types`)."""

    pipeline_id: Id
    source_addresses: LineageSide = msgspec.field(default_factory=list)
    target_addresses: LineageSide = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        check_lineage_edges(
            len({a.name for a in self.source_addresses}), len({a.name for a in self.target_addresses})
        )


class AddressLineageCreated(Struct, kw_only=True):
    pipeline_id: int
    lineage_relationships_created: int
    message: str


# -- anomaly detection ---------------------------------------------------------------------------------------

ZThreshold = Annotated[float, Meta(ge=1.0, le=10.0)]
LookbackDays = Annotated[int, Meta(ge=1, le=365)]
MinimumExecutions = Annotated[int, Meta(ge=5, le=1000)]
MetricField = Annotated[str, Meta(min_length=1, max_length=30, pattern=STORABLE)]


class AnomalyDetectionRuleCreate(Struct, kw_only=True):
    pipeline_id: Id
    metric_field: MetricField
    z_threshold: ZThreshold = 3.0
    lookback_days: LookbackDays = 30
    minimum_executions: MinimumExecutions = 30
    active: bool = True
    # Beyond the reference: `hour` (the reference's baseline: same UTC start hour) or `hour_of_week` (same hour
    # and day of week, for weekly seasonality); `both`, `spike` or `drop`.
    seasonality: Word = "hour"
    direction: Word = "both"


class AnomalyDetectionRuleUpdate(Struct, kw_only=True):
    id: Id
    pipeline_id: Id | UnsetType = UNSET
    metric_field: MetricField | UnsetType = UNSET
    z_threshold: ZThreshold | UnsetType = UNSET
    lookback_days: LookbackDays | UnsetType = UNSET
    minimum_executions: MinimumExecutions | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    seasonality: Word | UnsetType = UNSET
    direction: Word | UnsetType = UNSET


class AnomalyDetectionRule(Struct, frozen=True, kw_only=True):
    id: int
    pipeline_id: int
    metric_field: str
    z_threshold: float
    lookback_days: int
    minimum_executions: int
    active: bool
    seasonality: str
    direction: str
    created_at: datetime
    updated_at: datetime | None


class UnflagAnomaly(Struct, kw_only=True):
    pipeline_id: Id
    pipeline_execution_id: Id
    metric_field: list[MetricField]


# -- log cleanup -------------------------------------------------------------------------------------------------


class LogCleanup(Struct, kw_only=True):
    retention_days: Annotated[int, Meta(ge=90, le=36500)]
    batch_size: Annotated[int, Meta(ge=1, le=1_000_000)] = 10000


class LogCleanupCounts(Struct, kw_only=True):
    """The six documented counts; each service fills those of the data it holds and the gateway sums them."""

    total_pipeline_executions_deleted: int = 0
    total_timeliness_pipeline_execution_logs_deleted: int = 0
    total_anomaly_detection_results_deleted: int = 0
    total_pipeline_execution_closure_parent_deleted: int = 0
    total_pipeline_execution_closure_child_deleted: int = 0
    total_freshness_pipeline_logs_deleted: int = 0
