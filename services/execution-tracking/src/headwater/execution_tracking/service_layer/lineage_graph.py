"""Use cases for the lineage graph: what feeds an address, what it feeds, and the lineage of a pipeline."""

from __future__ import annotations

from prometheus_client import Histogram

from headwater.common.contracts.lineage import (
    MAX_DEPTH,
    MAX_NODE_LIMIT,
    Direction,
    Edge,
    LineageGraph,
    Node,
    NodeType,
    PipelineRef,
)
from headwater.common.errors import Invalid, NotFound
from headwater.execution_tracking.domain.records import Walk
from headwater.execution_tracking.service_layer.ports import LineageGraphReader

ANSWER_NODES = Histogram(
    "headwater_lineage_graph_nodes",
    "Addresses in a lineage graph answer",
    ["query"],
    buckets=(1, 10, 100, 1_000, 10_000, 100_000),
)


def _check(depth: int, limit: int, *, min_depth: int) -> None:
    if not min_depth <= depth <= MAX_DEPTH:
        raise Invalid(f"`depth` must be between {min_depth} and {MAX_DEPTH}, not {depth}")
    if not 1 <= limit <= MAX_NODE_LIMIT:
        raise Invalid(f"`limit` must be between 1 and {MAX_NODE_LIMIT}, not {limit}")


async def address_lineage(
    graph: LineageGraphReader, address_id: int, *, direction: Direction, depth: int, limit: int
) -> LineageGraph:
    """The addresses `depth` hops upstream, downstream or both from one address, and the edges between them."""
    _check(depth, limit, min_depth=1)
    walk = await graph.walk(
        [address_id],
        upstream=direction in (Direction.UPSTREAM, Direction.BOTH),
        downstream=direction in (Direction.DOWNSTREAM, Direction.BOTH),
        depth=depth,
        limit=limit,
    )
    result = await _graph(graph, walk, direction=direction, depth=depth)
    if not result.nodes:
        raise NotFound(f"address {address_id} not found")
    result.address_id = address_id
    ANSWER_NODES.labels("address").observe(len(result.nodes))
    return result


async def pipeline_lineage(
    graph: LineageGraphReader, pipeline_id: int, *, depth: int, limit: int
) -> LineageGraph:
    """The pipeline's own edges, then `depth` hops upstream of its sources and downstream of its targets."""
    _check(depth, limit, min_depth=0)
    own = await graph.pipeline_edges(pipeline_id)
    sources = sorted({s for s, _ in own})
    targets = sorted({t for _, t in own})
    walk = Walk(depth=dict.fromkeys([*sources, *targets], 0))
    if depth:
        up = await graph.walk(sources, upstream=True, downstream=False, depth=depth, limit=limit)
        down = await graph.walk(targets, upstream=False, downstream=True, depth=depth, limit=limit)
        for part in (up, down):
            for node, hops in part.depth.items():
                walk.depth[node] = min(hops, walk.depth.get(node, hops))
            for edge, pipelines in part.edges.items():
                walk.edges.setdefault(edge, set()).update(pipelines)
            walk.truncated |= part.truncated
    for source, target in own:
        walk.add_edge(source, target, pipeline_id)
    result = await _graph(graph, walk, direction=Direction.BOTH, depth=depth)
    if not own and not await _pipeline_exists(graph, pipeline_id):
        raise NotFound(f"pipeline {pipeline_id} not found")
    result.pipeline_id = pipeline_id
    ANSWER_NODES.labels("pipeline").observe(len(result.nodes))
    return result


async def _pipeline_exists(graph: LineageGraphReader, pipeline_id: int) -> bool:
    _, names = await graph.describe([], [pipeline_id])
    return pipeline_id in names


async def _graph(graph: LineageGraphReader, walk: Walk, *, direction: Direction, depth: int) -> LineageGraph:
    pipeline_ids = {p for pipelines in walk.edges.values() for p in pipelines}
    rows, names = await graph.describe(walk.depth, pipeline_ids)
    nodes = sorted(
        (
            Node(
                id=a.id,
                name=a.name,
                address_type=NodeType(
                    id=a.address_type_id, name=a.address_type_name, group_name=a.address_type_group_name
                ),
                database_name=a.database_name,
                schema_name=a.schema_name,
                table_name=a.table_name,
                depth=walk.depth[a.id],
            )
            for a in rows
        ),
        key=lambda n: (n.depth, n.id),
    )
    edges = [
        Edge(
            source_address_id=source,
            target_address_id=target,
            pipelines=[PipelineRef(id=p, name=names[p]) for p in sorted(pipelines) if p in names],
        )
        for (source, target), pipelines in sorted(walk.edges.items())
    ]
    return LineageGraph(direction=direction, depth=depth, nodes=nodes, edges=edges, truncated=walk.truncated)
