"""Lineage graph routes, served by execution-tracking."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter, SkipValidation

from headwater.common.contracts.lineage import (
    DEFAULT_DEPTH,
    DEFAULT_NODE_LIMIT,
    MAX_DEPTH,
    MAX_NODE_LIMIT,
    Direction,
    LineageGraph,
)
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
ExecutionTracking = NamedDependency[SkipValidation[Upstream]]
Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_NODE_LIMIT,
        description="most addresses returned; `truncated` says when hit",
    ),
]


class LineageGraphRoutes(Controller):
    path = "/lineage"
    tags = ["Lineage Graph"]

    @get(
        "/address/{address_id:int}",
        summary="Lineage around an address",
        description="Addresses up to `depth` hops upstream (what feeds it), downstream (what it feeds) or both, "
        "with the edges between them and the pipelines that declare each edge. Cycles and diamonds are "
        "walked once.",
    )
    async def around_address(
        self,
        address_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
        direction: FromQuery[Direction] = Direction.BOTH,
        depth: Annotated[int, QueryParameter(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> Response[LineageGraph]:
        return await forward(execution_tracking, request, principal)

    @get(
        "/pipeline/{pipeline_id:int}",
        summary="Lineage of a pipeline",
        description="The pipeline's own edges, then `depth` hops upstream of its sources and downstream of its "
        "targets (0 for its own edges only).",
    )
    async def of_pipeline(
        self,
        pipeline_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        execution_tracking: ExecutionTracking,
        depth: Annotated[int, QueryParameter(ge=0, le=MAX_DEPTH)] = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> Response[LineageGraph]:
        return await forward(execution_tracking, request, principal)


ROUTES = [LineageGraphRoutes]
