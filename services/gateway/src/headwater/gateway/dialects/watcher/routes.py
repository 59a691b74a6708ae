"""Watcher routes: pipeline types, pipelines and executions, served by execution-tracking."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation

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
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
ExecutionTracking = NamedDependency[SkipValidation[Upstream]]


class PipelineTypeRoutes(Controller):
    path = "/pipeline_type"
    tags = ["Pipeline Types"]

    @post("/", summary="Create or get pipeline type", description="201 when created, 200 when it existed.")
    async def upsert(
        self,
        data: JSONBody[PipelineTypeCreate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Created]:
        return await forward(execution_tracking, request, principal)

    @get("/", summary="List pipeline types")
    async def list_all(
        self, request: AnyRequest, principal: Caller, execution_tracking: ExecutionTracking
    ) -> Response[list[PipelineType]]:
        return await forward(execution_tracking, request, principal)

    @get("/{pipeline_type_id:int}", summary="Get pipeline type by ID")
    async def get_one(
        self,
        pipeline_type_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[PipelineType]:
        return await forward(execution_tracking, request, principal)

    @patch("/", summary="Update pipeline type (by id or name)")
    async def update(
        self,
        data: JSONBody[PipelineTypeUpdate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[PipelineType]:
        return await forward(execution_tracking, request, principal)


class PipelineRoutes(Controller):
    path = "/pipeline"
    tags = ["Pipeline Management"]

    @post(
        "/",
        summary="Create or get pipeline",
        description="Upsert: 201 with the new pipeline, 200 for an existing one (updated when the request differs).",
    )
    async def upsert(
        self,
        data: JSONBody[PipelineCreate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[PipelineUpserted]:
        return await forward(execution_tracking, request, principal)

    @get("/", summary="List pipelines")
    async def list_all(
        self, request: AnyRequest, principal: Caller, execution_tracking: ExecutionTracking
    ) -> Response[list[Pipeline]]:
        return await forward(execution_tracking, request, principal)

    @get("/{pipeline_id:int}", summary="Get pipeline by ID")
    async def get_one(
        self,
        pipeline_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Pipeline]:
        return await forward(execution_tracking, request, principal)

    @patch("/", summary="Update pipeline (by id or name)")
    async def update(
        self,
        data: JSONBody[PipelineUpdate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Pipeline]:
        return await forward(execution_tracking, request, principal)


class ExecutionRoutes(Controller):
    tags = ["Pipeline Execution"]

    @post("/start_pipeline_execution", summary="Start pipeline execution", status_code=201)
    async def start(
        self,
        data: JSONBody[ExecutionStart],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Created]:
        return await forward(execution_tracking, request, principal)

    @post("/end_pipeline_execution", summary="End pipeline execution", status_code=204)
    async def end(
        self,
        data: JSONBody[ExecutionEnd],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[None]:
        return await forward(execution_tracking, request, principal)

    @get(
        "/pipeline_execution/{pipeline_execution_id:int}", summary="Get pipeline execution with its children"
    )
    async def get_one(
        self,
        pipeline_execution_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Execution]:
        return await forward(execution_tracking, request, principal)


class AddressRoutes(Controller):
    path = "/address"
    tags = ["Address Management"]

    @post(
        "/",
        summary="Create or get address",
        description="Upsert by name (the address type too): 201 when created, 200 when it existed. A `database` "
        "address named `db.schema.table` gets database, schema and table from its name.",
    )
    async def upsert(
        self,
        data: JSONBody[AddressCreate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Created]:
        return await forward(execution_tracking, request, principal)

    @get("/", summary="List addresses")
    async def list_all(
        self, request: AnyRequest, principal: Caller, execution_tracking: ExecutionTracking
    ) -> Response[list[Address]]:
        return await forward(execution_tracking, request, principal)

    @get("/{address_id:int}", summary="Get address by ID")
    async def get_one(
        self,
        address_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Address]:
        return await forward(execution_tracking, request, principal)

    @patch("/", summary="Update address")
    async def update(
        self,
        data: JSONBody[AddressUpdate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Address]:
        return await forward(execution_tracking, request, principal)


class AddressTypeRoutes(Controller):
    path = "/address_type"
    tags = ["Address Types"]

    @post("/", summary="Create or get address type", description="201 when created, 200 when it existed.")
    async def upsert(
        self,
        data: JSONBody[AddressTypeCreate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[Created]:
        return await forward(execution_tracking, request, principal)

    @get("/", summary="List address types")
    async def list_all(
        self, request: AnyRequest, principal: Caller, execution_tracking: ExecutionTracking
    ) -> Response[list[AddressType]]:
        return await forward(execution_tracking, request, principal)

    @get("/{address_type_id:int}", summary="Get address type by ID")
    async def get_one(
        self,
        address_type_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[AddressType]:
        return await forward(execution_tracking, request, principal)

    @patch("/", summary="Update address type (by id or name)")
    async def update(
        self,
        data: JSONBody[AddressTypeUpdate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[AddressType]:
        return await forward(execution_tracking, request, principal)


class AddressLineageRoutes(Controller):
    tags = ["Address Lineage"]

    @post(
        "/address_lineage",
        summary="Create address lineage",
        description="Replaces the pipeline's edges by sources x targets (addresses and types created as "
        "needed): 201 with the count. 200 with 0 when the pipeline's `load_lineage` is false.",
        status_code=201,
    )
    async def record(
        self,
        data: JSONBody[AddressLineageCreate],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
    ) -> Response[AddressLineageCreated]:
        return await forward(execution_tracking, request, principal)


ROUTES = [
    PipelineTypeRoutes,
    PipelineRoutes,
    ExecutionRoutes,
    AddressRoutes,
    AddressTypeRoutes,
    AddressLineageRoutes,
]
