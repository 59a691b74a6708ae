"""The lineage graph walk on raw asyncpg: breadth first, one indexed query per hop, each address visited once.

Each hop reads the edges leaving (downstream) or entering (upstream) the current frontier through a covering
index, so a walk costs `depth` small index-only scans whatever the graph's size; diamonds and cycles are
harmless because an address already reached is never expanded again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from headwater.execution_tracking.domain.records import DescribedAddress, Pair, Walk
from headwater.execution_tracking.service_layer.ports import WalkTooLong

_DOWNSTREAM = """
    SELECT source_address_id, target_address_id, pipeline_id FROM address_lineage
    WHERE source_address_id = ANY($1::bigint[])
"""
_UPSTREAM = """
    SELECT source_address_id, target_address_id, pipeline_id FROM address_lineage
    WHERE target_address_id = ANY($1::bigint[])
"""
_PIPELINE_EDGES = """
    SELECT source_address_id, target_address_id, pipeline_id FROM address_lineage WHERE pipeline_id = $1
"""
_NODES = """
    SELECT a.id, a.name, a.address_type_id, t.name AS address_type_name, t.group_name AS address_type_group_name,
           a.database_name, a.schema_name, a.table_name
    FROM address a JOIN address_type t ON t.id = a.address_type_id
    WHERE a.id = ANY($1::bigint[])
"""
_PIPELINES = "SELECT id, name FROM pipeline WHERE id = ANY($1::bigint[])"


class LineageGraphReader:
    """Implements `service_layer.ports.LineageGraphReader` through an asyncpg pool; a walk may take
    `budget` seconds at most (0: no limit)."""

    def __init__(self, pool: asyncpg.Pool, *, budget: float = 0) -> None:
        self._pool = pool
        self._budget = budget

    async def walk(
        self, starts: Iterable[int], *, upstream: bool, downstream: bool, depth: int, limit: int
    ) -> Walk:
        """Walk from every address of `starts` (depth 0) in the directions asked, `depth` hops at most."""
        origin = dict.fromkeys(starts, 0)
        walk = Walk(depth=dict(origin))
        try:
            async with asyncio.timeout(self._budget or None), self._pool.acquire() as conn:
                if downstream:
                    await self._hops(conn, walk, origin, _DOWNSTREAM, forward=True, depth=depth, limit=limit)
                if upstream:
                    await self._hops(conn, walk, origin, _UPSTREAM, forward=False, depth=depth, limit=limit)
        except TimeoutError as exc:
            raise WalkTooLong(
                f"the lineage walk ran past its {self._budget:g} s budget: retry, or ask for a smaller "
                "depth or limit",
                headers={"retry-after": "5"},
            ) from exc
        return walk

    async def pipeline_edges(self, pipeline_id: int) -> list[Pair]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_PIPELINE_EDGES, pipeline_id)
        return [(r[0], r[1]) for r in rows]

    async def _hops(
        self,
        conn: asyncpg.Connection | PoolConnectionProxy,
        walk: Walk,
        starts: dict[int, int],
        sql: str,
        *,
        forward: bool,
        depth: int,
        limit: int,
    ) -> None:
        reached = set(starts)  # per direction: a node reached upstream may still be walked downstream
        frontier: list[int] = list(starts)
        for hop in range(1, depth + 1):
            if not frontier:
                return
            rows = await conn.fetch(sql, frontier)
            frontier = []
            for source, target, pipeline_id in rows:
                far = target if forward else source
                if far not in reached:
                    if len(walk.depth) >= limit and far not in walk.depth:
                        walk.truncated = True
                        continue
                    reached.add(far)
                    frontier.append(far)
                    if walk.depth.get(far, hop + 1) > hop:
                        walk.depth[far] = hop
                walk.add_edge(source, target, pipeline_id)

    async def describe(
        self, address_ids: Iterable[int], pipeline_ids: Iterable[int]
    ) -> tuple[list[DescribedAddress], dict[int, str]]:
        """The addresses (with their type) and pipeline names of a walk, in two queries."""
        async with self._pool.acquire() as conn:
            nodes = await conn.fetch(_NODES, list(address_ids))
            pipelines = await conn.fetch(_PIPELINES, list(pipeline_ids))
        return [DescribedAddress(**r) for r in nodes], {r["id"]: r["name"] for r in pipelines}
