"""Lineage graph answers (our addition to the Watcher dialect): the addresses around an address or pipeline.

`GET /lineage/address/{address_id}` walks upstream (what feeds it), downstream (what it feeds) or both, up
to `depth` hops; `GET /lineage/pipeline/{pipeline_id}` starts from the pipeline's own edges and walks upstream
from its sources and downstream from its targets. Nodes are addresses with their type; each edge lists the
pipelines that declare it.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct

DEFAULT_DEPTH = 20
MAX_DEPTH = 100
DEFAULT_NODE_LIMIT = 10_000
MAX_NODE_LIMIT = 100_000


class Direction(StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


class NodeType(Struct, kw_only=True):
    id: int
    name: str
    group_name: str


class Node(Struct, kw_only=True):
    """An address; `depth` is the number of hops from where the walk started (0 for the start)."""

    id: int
    name: str
    address_type: NodeType
    database_name: str | None
    schema_name: str | None
    table_name: str | None
    depth: int


class PipelineRef(Struct, kw_only=True):
    id: int
    name: str


class Edge(Struct, kw_only=True):
    """Data flows from `source_address_id` to `target_address_id` through each of `pipelines`."""

    source_address_id: int
    target_address_id: int
    pipelines: list[PipelineRef]


class LineageGraph(Struct, kw_only=True):
    """`truncated` is true when the walk stopped at `limit` nodes before reaching `depth`."""

    direction: Direction
    depth: int
    address_id: int | None = None
    pipeline_id: int | None = None
    nodes: list[Node]
    edges: list[Edge]
    truncated: bool = False
