"""Lineage graph routes, served by execution-tracking."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from headwater.common.contracts.lineage import (
    DEFAULT_DEPTH,
    DEFAULT_NODE_LIMIT,
    MAX_DEPTH,
    MAX_NODE_LIMIT,
    Direction,
    LineageGraph,
)
from headwater.common.contracts.paths import ExecutionTrackingPaths
from headwater.gateway.dialects.deps import ToExecutionTracking

Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_NODE_LIMIT,
        description="most addresses returned; `truncated` says when hit",
    ),
]


class LineageGraphRoutes(Controller):
    tags = ["Lineage Graph"]

    @get(
        ExecutionTrackingPaths.LINEAGE_OF_ADDRESS,
        summary="Lineage around an address",
        description="Addresses up to `depth` hops upstream (what feeds it), downstream (what it feeds) or both, "
        "with the edges between them and the pipelines that declare each edge. Cycles and diamonds are "
        "walked once.",
    )
    async def around_address(
        self,
        address_id: FromPath[int],
        to_execution_tracking: ToExecutionTracking,
        direction: FromQuery[Direction] = Direction.BOTH,
        depth: Annotated[int, QueryParameter(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> Response[LineageGraph]:
        return await to_execution_tracking()

    @get(
        ExecutionTrackingPaths.LINEAGE_OF_PIPELINE,
        summary="Lineage of a pipeline",
        description="The pipeline's own edges, then `depth` hops upstream of its sources and downstream of its "
        "targets (0 for its own edges only).",
    )
    async def of_pipeline(
        self,
        pipeline_id: FromPath[int],
        to_execution_tracking: ToExecutionTracking,
        depth: Annotated[int, QueryParameter(ge=0, le=MAX_DEPTH)] = DEFAULT_DEPTH,
        limit: Limit = DEFAULT_NODE_LIMIT,
    ) -> Response[LineageGraph]:
        return await to_execution_tracking()


ROUTES = [LineageGraphRoutes]
