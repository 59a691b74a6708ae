"""Lineage graph routes, served by execution-tracking."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import FromQuery, QueryParameter

from headwater.common.contracts.lineage import (
    DEFAULT_DEPTH,
    DEFAULT_NODE_LIMIT,
    MAX_DEPTH,
    MAX_NODE_LIMIT,
    Direction,
    LineageGraph,
)
from headwater.common.contracts.paths import ExecutionTrackingPaths as Paths
from headwater.gateway.dialects.forward import Forwarding

Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_NODE_LIMIT,
        description="most addresses returned; `truncated` says when hit",
    ),
]

lineage = Forwarding("to_execution_tracking", "Lineage Graph")

ROUTES = [
    lineage.route(
        get,
        Paths.LINEAGE_OF_ADDRESS,
        "around_address",
        LineageGraph,
        query={
            "direction": (FromQuery[Direction], Direction.BOTH),
            "depth": (Annotated[int, QueryParameter(ge=1, le=MAX_DEPTH)], DEFAULT_DEPTH),
            "limit": (Limit, DEFAULT_NODE_LIMIT),
        },
        summary="Lineage around an address",
        description="Addresses up to `depth` hops upstream (what feeds it), downstream (what it feeds) or both, "
        "with the edges between them and the pipelines that declare each edge. Cycles and diamonds are "
        "walked once.",
    ),
    lineage.route(
        get,
        Paths.LINEAGE_OF_PIPELINE,
        "of_pipeline",
        LineageGraph,
        query={
            "depth": (Annotated[int, QueryParameter(ge=0, le=MAX_DEPTH)], DEFAULT_DEPTH),
            "limit": (Limit, DEFAULT_NODE_LIMIT),
        },
        summary="Lineage of a pipeline",
        description="The pipeline's own edges, then `depth` hops upstream of its sources and downstream of its "
        "targets (0 for its own edges only).",
    ),
]
