"""Watcher routes: pipeline types, pipelines and executions, served by execution-tracking."""

from __future__ import annotations

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody

from headwater.common.contracts.paths import ExecutionTrackingPaths
from headwater.common.contracts.watcher import (
    Address,
    AddressCreate,
    AddressLineageCreate,
    AddressLineageCreated,
    AddressType,
    AddressTypeCreate,
    AddressTypeUpdate,
    AddressUpdate,
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
)
from headwater.gateway.dialects.deps import ToExecutionTracking


class PipelineTypeRoutes(Controller):
    tags = ["Pipeline Types"]

    @post(
        ExecutionTrackingPaths.PIPELINE_TYPES,
        summary="Create or get pipeline type",
        description="201 when created, 200 when it existed.",
    )
    async def upsert(
        self, data: JSONBody[PipelineTypeCreate], to_execution_tracking: ToExecutionTracking
    ) -> Response[Created]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.PIPELINE_TYPES, summary="List pipeline types")
    async def list_all(self, to_execution_tracking: ToExecutionTracking) -> Response[list[PipelineType]]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.PIPELINE_TYPE, summary="Get pipeline type by ID")
    async def get_one(
        self, pipeline_type_id: FromPath[int], to_execution_tracking: ToExecutionTracking
    ) -> Response[PipelineType]:
        return await to_execution_tracking()

    @patch(ExecutionTrackingPaths.PIPELINE_TYPES, summary="Update pipeline type (by id or name)")
    async def update(
        self, data: JSONBody[PipelineTypeUpdate], to_execution_tracking: ToExecutionTracking
    ) -> Response[PipelineType]:
        return await to_execution_tracking()


class PipelineRoutes(Controller):
    tags = ["Pipeline Management"]

    @post(
        ExecutionTrackingPaths.PIPELINES,
        summary="Create or get pipeline",
        description="Upsert: 201 with the new pipeline, 200 for an existing one (updated when the request differs).",
    )
    async def upsert(
        self, data: JSONBody[PipelineCreate], to_execution_tracking: ToExecutionTracking
    ) -> Response[PipelineUpserted]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.PIPELINES, summary="List pipelines")
    async def list_all(self, to_execution_tracking: ToExecutionTracking) -> Response[list[Pipeline]]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.PIPELINE, summary="Get pipeline by ID")
    async def get_one(
        self, pipeline_id: FromPath[int], to_execution_tracking: ToExecutionTracking
    ) -> Response[Pipeline]:
        return await to_execution_tracking()

    @patch(ExecutionTrackingPaths.PIPELINES, summary="Update pipeline (by id or name)")
    async def update(
        self, data: JSONBody[PipelineUpdate], to_execution_tracking: ToExecutionTracking
    ) -> Response[Pipeline]:
        return await to_execution_tracking()


class ExecutionRoutes(Controller):
    tags = ["Pipeline Execution"]

    @post(ExecutionTrackingPaths.START_EXECUTION, summary="Start pipeline execution", status_code=201)
    async def start(
        self, data: JSONBody[ExecutionStart], to_execution_tracking: ToExecutionTracking
    ) -> Response[Created]:
        return await to_execution_tracking()

    @post(ExecutionTrackingPaths.END_EXECUTION, summary="End pipeline execution", status_code=204)
    async def end(
        self, data: JSONBody[ExecutionEnd], to_execution_tracking: ToExecutionTracking
    ) -> Response[None]:
        return await to_execution_tracking()

    @get(
        "/pipeline_execution/{pipeline_execution_id:int}", summary="Get pipeline execution with its children"
    )
    async def get_one(
        self, pipeline_execution_id: FromPath[int], to_execution_tracking: ToExecutionTracking
    ) -> Response[Execution]:
        return await to_execution_tracking()


class AddressRoutes(Controller):
    tags = ["Address Management"]

    @post(
        ExecutionTrackingPaths.ADDRESSES,
        summary="Create or get address",
        description="Upsert by name (the address type too): 201 when created, 200 when it existed. A `database` "
        "address named `db.schema.table` gets database, schema and table from its name.",
    )
    async def upsert(
        self, data: JSONBody[AddressCreate], to_execution_tracking: ToExecutionTracking
    ) -> Response[Created]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.ADDRESSES, summary="List addresses")
    async def list_all(self, to_execution_tracking: ToExecutionTracking) -> Response[list[Address]]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.ADDRESS, summary="Get address by ID")
    async def get_one(
        self, address_id: FromPath[int], to_execution_tracking: ToExecutionTracking
    ) -> Response[Address]:
        return await to_execution_tracking()

    @patch(ExecutionTrackingPaths.ADDRESSES, summary="Update address")
    async def update(
        self, data: JSONBody[AddressUpdate], to_execution_tracking: ToExecutionTracking
    ) -> Response[Address]:
        return await to_execution_tracking()


class AddressTypeRoutes(Controller):
    tags = ["Address Types"]

    @post(
        ExecutionTrackingPaths.ADDRESS_TYPES,
        summary="Create or get address type",
        description="201 when created, 200 when it existed.",
    )
    async def upsert(
        self, data: JSONBody[AddressTypeCreate], to_execution_tracking: ToExecutionTracking
    ) -> Response[Created]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.ADDRESS_TYPES, summary="List address types")
    async def list_all(self, to_execution_tracking: ToExecutionTracking) -> Response[list[AddressType]]:
        return await to_execution_tracking()

    @get(ExecutionTrackingPaths.ADDRESS_TYPE, summary="Get address type by ID")
    async def get_one(
        self, address_type_id: FromPath[int], to_execution_tracking: ToExecutionTracking
    ) -> Response[AddressType]:
        return await to_execution_tracking()

    @patch(ExecutionTrackingPaths.ADDRESS_TYPES, summary="Update address type (by id or name)")
    async def update(
        self, data: JSONBody[AddressTypeUpdate], to_execution_tracking: ToExecutionTracking
    ) -> Response[AddressType]:
        return await to_execution_tracking()


class AddressLineageRoutes(Controller):
    tags = ["Address Lineage"]

    @post(
        ExecutionTrackingPaths.ADDRESS_LINEAGE,
        summary="Create address lineage",
        description="Replaces the pipeline's edges by sources x targets (addresses and types created as "
        "needed): 201 with the count. 200 with 0 when the pipeline's `load_lineage` is false.",
        status_code=201,
    )
    async def record(
        self, data: JSONBody[AddressLineageCreate], to_execution_tracking: ToExecutionTracking
    ) -> Response[AddressLineageCreated]:
        return await to_execution_tracking()


ROUTES = [
    PipelineTypeRoutes,
    PipelineRoutes,
    ExecutionRoutes,
    AddressRoutes,
    AddressTypeRoutes,
    AddressLineageRoutes,
]
