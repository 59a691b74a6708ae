"""Watcher routes (spec 000) that only validate the request and forward it: pipeline types, pipelines,
executions and addresses (served by execution-tracking), anomaly detection (quality-alerting; the rule writes,
which check the pipeline first, are in anomaly_routes), the checks and the schedule listing (the scheduler)."""

from __future__ import annotations

from typing import Annotated

from litestar import get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import ExecutionTrackingPaths as Paths
from headwater.common.contracts.paths import QualityAlertingPaths, SchedulerPaths
from headwater.common.contracts.scheduler import CheckQueued, QueueMonitorStatus, Schedule, TimelinessCheck
from headwater.common.contracts.watcher import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    Address,
    AddressCreate,
    AddressLineageCreate,
    AddressLineageCreated,
    AddressType,
    AddressTypeCreate,
    AddressTypeUpdate,
    AddressUpdate,
    AnomalyDetectionRule,
    Created,
    Execution,
    ExecutionEnd,
    ExecutionStart,
    Pipeline,
    PipelineCreate,
    PipelineType,
    PipelineTypeCreate,
    PipelineTypeUpdate,
    PipelineUpdate,
    PipelineUpserted,
    UnflagAnomaly,
)
from headwater.gateway.dialects.forward import Forwarding

# Paging of the lists (not in spec 000, whose lists answer every row): optional, with a generous default.
PAGE = {
    "limit": (Annotated[int, QueryParameter(ge=1, le=MAX_LIST_LIMIT)], DEFAULT_LIST_LIMIT),
    "offset": (Annotated[int, QueryParameter(ge=0)], 0),
}
PAGED = (
    f"In id order, at most `limit` rows (default {DEFAULT_LIST_LIMIT:,}, at most {MAX_LIST_LIMIT:,}) after the "
    "first `offset`; ask for the next page with `offset` when a page is full."
)

# A get-or-create answers 201 when it created, 200 with the same body when it existed.
EXISTED = {200: ResponseSpec(Created, description="It existed already: its id")}

pipeline_types = Forwarding("to_execution_tracking", "Pipeline Types")
pipelines = Forwarding("to_execution_tracking", "Pipeline Management")
executions = Forwarding("to_execution_tracking", "Pipeline Execution")
addresses = Forwarding("to_execution_tracking", "Address Management")
address_types = Forwarding("to_execution_tracking", "Address Types")
address_lineage = Forwarding("to_execution_tracking", "Address Lineage")
anomaly_detection = Forwarding("to_quality_alerting", "Anomaly Detection")
checks = Forwarding("to_scheduler", "Monitoring & Health")
schedules = Forwarding("to_scheduler", "Schedules")

ROUTES = [
    pipeline_types.route(
        post,
        Paths.PIPELINE_TYPES,
        "upsert",
        Created,
        data=PipelineTypeCreate,
        responses=EXISTED,
        summary="Create or get pipeline type",
        description="201 when created, 200 when it existed.",
    ),
    pipeline_types.route(
        get,
        Paths.PIPELINE_TYPES,
        "list_all",
        list[PipelineType],
        query=PAGE,
        summary="List pipeline types",
        description=PAGED,
    ),
    pipeline_types.route(
        get, Paths.PIPELINE_TYPE, "get_one", PipelineType, summary="Get pipeline type by ID"
    ),
    pipeline_types.route(
        patch,
        Paths.PIPELINE_TYPES,
        "update",
        PipelineType,
        data=PipelineTypeUpdate,
        summary="Update pipeline type (by id or name)",
    ),
    pipelines.route(
        post,
        Paths.PIPELINES,
        "upsert",
        PipelineUpserted,
        data=PipelineCreate,
        responses={
            200: ResponseSpec(PipelineUpserted, description="It existed already (updated if it differed)")
        },
        summary="Create or get pipeline",
        description="Upsert: 201 with the new pipeline, 200 for an existing one (updated when the request differs).",
    ),
    pipelines.route(
        get,
        Paths.PIPELINES,
        "list_all",
        list[Pipeline],
        query=PAGE,
        summary="List pipelines",
        description=PAGED,
    ),
    pipelines.route(get, Paths.PIPELINE, "get_one", Pipeline, summary="Get pipeline by ID"),
    pipelines.route(
        patch,
        Paths.PIPELINES,
        "update",
        Pipeline,
        data=PipelineUpdate,
        summary="Update pipeline (by id or name)",
    ),
    executions.route(
        post,
        Paths.START_EXECUTION,
        "start",
        Created,
        data=ExecutionStart,
        summary="Start pipeline execution",
        status_code=201,
    ),
    executions.route(
        post,
        Paths.END_EXECUTION,
        "end",
        None,
        data=ExecutionEnd,
        summary="End pipeline execution",
        status_code=204,
    ),
    executions.route(
        get, Paths.EXECUTION, "get_one", Execution, summary="Get pipeline execution with its children"
    ),
    addresses.route(
        post,
        Paths.ADDRESSES,
        "upsert",
        Created,
        data=AddressCreate,
        responses=EXISTED,
        summary="Create or get address",
        description="Upsert by name (the address type too): 201 when created, 200 when it existed. A `database` "
        "address named `db.schema.table` gets database, schema and table from its name.",
    ),
    addresses.route(
        get,
        Paths.ADDRESSES,
        "list_all",
        list[Address],
        query=PAGE,
        summary="List addresses",
        description=PAGED,
    ),
    addresses.route(get, Paths.ADDRESS, "get_one", Address, summary="Get address by ID"),
    addresses.route(patch, Paths.ADDRESSES, "update", Address, data=AddressUpdate, summary="Update address"),
    address_types.route(
        post,
        Paths.ADDRESS_TYPES,
        "upsert",
        Created,
        data=AddressTypeCreate,
        responses=EXISTED,
        summary="Create or get address type",
        description="201 when created, 200 when it existed.",
    ),
    address_types.route(
        get,
        Paths.ADDRESS_TYPES,
        "list_all",
        list[AddressType],
        query=PAGE,
        summary="List address types",
        description=PAGED,
    ),
    address_types.route(get, Paths.ADDRESS_TYPE, "get_one", AddressType, summary="Get address type by ID"),
    address_types.route(
        patch,
        Paths.ADDRESS_TYPES,
        "update",
        AddressType,
        data=AddressTypeUpdate,
        summary="Update address type (by id or name)",
    ),
    address_lineage.route(
        post,
        Paths.ADDRESS_LINEAGE,
        "record",
        AddressLineageCreated,
        data=AddressLineageCreate,
        summary="Create address lineage",
        description="Replaces the pipeline's edges by sources x targets (addresses and types created as "
        "needed): 201 with the count. 200 with 0 when the pipeline's `load_lineage` is false.",
        status_code=201,
        responses={
            200: ResponseSpec(
                AddressLineageCreated, description="The pipeline's `load_lineage` is false: nothing recorded"
            )
        },
    ),
    anomaly_detection.route(
        get,
        QualityAlertingPaths.ANOMALY_DETECTION_RULES,
        "list_all",
        list[AnomalyDetectionRule],
        summary="List anomaly detection rules",
    ),
    anomaly_detection.route(
        get,
        QualityAlertingPaths.ANOMALY_DETECTION_RULE,
        "get_one",
        AnomalyDetectionRule,
        summary="Get anomaly detection rule by ID",
    ),
    anomaly_detection.route(
        post,
        QualityAlertingPaths.UNFLAG_ANOMALY,
        "unflag",
        None,
        data=UnflagAnomaly,
        summary="Unflag anomalies",
        description="Clears the execution's flags for the metrics listed and deletes their results: 204; "
        "404 when none of them is flagged.",
        status_code=204,
    ),
    # The Watcher answers the checks 200; the body of freshness and of the queue monitor is not read.
    checks.route(
        post,
        SchedulerPaths.FRESHNESS,
        "freshness",
        CheckQueued,
        body=b"",
        status_code=HTTP_200_OK,
        summary="Check freshness",
        description="Queue a freshness check of every pipeline (stale when its last DML is older than its "
        "freshness setting). Also runs on the scheduler's freshness schedule (hourly by default).",
    ),
    checks.route(
        post,
        SchedulerPaths.TIMELINESS,
        "timeliness",
        CheckQueued,
        data=TimelinessCheck | None,
        status_code=HTTP_200_OK,
        summary="Check timeliness",
        description="Queue a timeliness check of the executions started within `lookback_minutes` (at least 5, "
        "default 60; an empty body means the default). Also runs on the scheduler's timeliness schedule "
        "(every 15 minutes by default).",
    ),
    checks.route(
        post,
        SchedulerPaths.MONITOR_QUEUE,
        "monitor_queue",
        QueueMonitorStatus,
        body=b"",
        status_code=HTTP_200_OK,
        summary="Monitor the queue",
        description="Queue a check of pending work (consumer lag plus outbox backlog): WARNING from 50, "
        "CRITICAL from 100. Also runs on the scheduler's queue-monitor schedule (every 5 minutes by default).",
    ),
    schedules.route(
        get,
        "/api/v1/schedules",
        "list_all",
        list[Schedule],
        upstream_path=SchedulerPaths.SCHEDULES,
        summary="List system schedules",
        description="The scheduler's system schedules: cron expression (UTC), whether enabled, when next due and "
        "when last fired.",
    ),
]
