"""Controllers for address types, addresses, address lineage, the lineage graph and OpenLineage events."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from headwater.common.contracts.lineage import DEFAULT_DEPTH, DEFAULT_NODE_LIMIT, Direction, LineageGraph
from headwater.common.contracts.openlineage import decode_run_event
from headwater.common.contracts.paths import ExecutionTrackingPaths
from headwater.common.contracts.watcher import (
    DEFAULT_LIST_LIMIT,
    Address,
    AddressCreate,
    AddressLineageCreate,
    AddressLineageCreated,
    AddressType,
    AddressTypeCreate,
    AddressTypeUpdate,
    AddressUpdate,
    Created,
    sent,
)
from headwater.common.errors import UseCaseError
from headwater.common.records import project
from headwater.execution_tracking.entrypoints.http.deps import Graph, ListLimit, ListOffset, UowFactory
from headwater.execution_tracking.service_layer import addresses, lineage_graph, openlineage

Depth = Annotated[int, QueryParameter(description="hops to walk (default 20)")]
Limit = Annotated[int, QueryParameter(description="most addresses to return (default 10,000)")]


class BadEvent(UseCaseError):
    status = 400


class AddressTypeController(Controller):
    tags = ["address types"]

    @post(ExecutionTrackingPaths.ADDRESS_TYPES, status_code=HTTP_201_CREATED)
    async def upsert(self, data: JSONBody[AddressTypeCreate], uow_factory: UowFactory) -> Response[Created]:
        type_id, created = await addresses.upsert_address_type(uow_factory(), sent(data))
        return Response(Created(type_id), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(ExecutionTrackingPaths.ADDRESS_TYPES)
    async def list_all(
        self, uow_factory: UowFactory, limit: ListLimit = DEFAULT_LIST_LIMIT, offset: ListOffset = 0
    ) -> list[AddressType]:
        rows = await addresses.list_address_types(uow_factory(), limit=limit, offset=offset)
        return [project(AddressType, r) for r in rows]

    @get(ExecutionTrackingPaths.ADDRESS_TYPE)
    async def get_one(self, address_type_id: FromPath[int], uow_factory: UowFactory) -> AddressType:
        return project(AddressType, await addresses.get_address_type(uow_factory(), address_type_id))

    @patch(ExecutionTrackingPaths.ADDRESS_TYPES)
    async def update(self, data: JSONBody[AddressTypeUpdate], uow_factory: UowFactory) -> AddressType:
        return project(AddressType, await addresses.patch_address_type(uow_factory(), sent(data)))


class AddressController(Controller):
    tags = ["addresses"]

    @post(ExecutionTrackingPaths.ADDRESSES, status_code=HTTP_201_CREATED)
    async def upsert(self, data: JSONBody[AddressCreate], uow_factory: UowFactory) -> Response[Created]:
        address_id, created = await addresses.upsert_address(uow_factory(), sent(data))
        return Response(Created(address_id), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(ExecutionTrackingPaths.ADDRESSES)
    async def list_all(
        self, uow_factory: UowFactory, limit: ListLimit = DEFAULT_LIST_LIMIT, offset: ListOffset = 0
    ) -> list[Address]:
        rows = await addresses.list_addresses(uow_factory(), limit=limit, offset=offset)
        return [project(Address, r) for r in rows]

    @get(ExecutionTrackingPaths.ADDRESS)
    async def get_one(self, address_id: FromPath[int], uow_factory: UowFactory) -> Address:
        return project(Address, await addresses.get_address(uow_factory(), address_id))

    @patch(ExecutionTrackingPaths.ADDRESSES)
    async def update(self, data: JSONBody[AddressUpdate], uow_factory: UowFactory) -> Address:
        return project(Address, await addresses.patch_address(uow_factory(), sent(data)))


class LineageController(Controller):
    tags = ["lineage"]

    @post(ExecutionTrackingPaths.ADDRESS_LINEAGE, status_code=HTTP_201_CREATED)
    async def record(
        self, data: JSONBody[AddressLineageCreate], uow_factory: UowFactory
    ) -> Response[AddressLineageCreated]:
        loaded = await addresses.record_address_lineage(
            uow_factory(),
            data.pipeline_id,
            [sent(a) for a in data.source_addresses],
            [sent(a) for a in data.target_addresses],
        )
        body = AddressLineageCreated(
            pipeline_id=loaded.pipeline_id,
            lineage_relationships_created=loaded.created,
            message=loaded.message,
        )
        return Response(body, status_code=HTTP_201_CREATED if loaded.loaded else HTTP_200_OK)

    @get(ExecutionTrackingPaths.LINEAGE_OF_ADDRESS)
    async def around_address(
        self,
        address_id: FromPath[int],
        graph: Graph,
        direction: FromQuery[Direction] = Direction.BOTH,
        depth: Depth = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> LineageGraph:
        return await lineage_graph.address_lineage(
            graph, address_id, direction=direction, depth=depth, limit=limit
        )

    @get(ExecutionTrackingPaths.LINEAGE_OF_PIPELINE)
    async def of_pipeline(
        self,
        pipeline_id: FromPath[int],
        graph: Graph,
        depth: Depth = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> LineageGraph:
        return await lineage_graph.pipeline_lineage(graph, pipeline_id, depth=depth, limit=limit)


class OpenLineageController(Controller):
    tags = ["openlineage"]

    @post(ExecutionTrackingPaths.OPENLINEAGE, status_code=HTTP_201_CREATED)
    async def record(self, request: Request[Any, Any, Any], uow_factory: UowFactory) -> Response[bytes]:
        try:
            event = decode_run_event(await request.body())
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise BadEvent(f"invalid OpenLineage RunEvent: {exc}") from exc
        try:
            await openlineage.record_run_event(uow_factory(), event)
        except UseCaseError as exc:
            raise BadEvent(exc.detail) from exc
        return Response(b"", status_code=HTTP_201_CREATED)
