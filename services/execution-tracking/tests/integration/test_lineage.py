"""Addresses and lineage against the real Postgres: the Watcher rules, and a graph that stays correct where the
reference breaks (diamonds, cycles, one edge declared by two pipelines, edges a pipeline stops declaring)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from headwater.common.contracts.lineage import Direction, LineageGraph
from headwater.common.errors import Conflict, Invalid, NotFound
from headwater.execution_tracking.adapters.db.tables import outbox
from headwater.execution_tracking.bootstrap import Container
from headwater.execution_tracking.service_layer import addresses, lineage_graph, pipelines

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def addr(name: str, type_name: str = "postgres", group: str = "database") -> dict[str, Any]:
    return {"name": name, "address_type_name": type_name, "address_type_group_name": group}


async def new_pipeline(c: Container, prefix: str = "lineage") -> int:
    return (
        await pipelines.upsert_pipeline(
            c.uow_factory(), {"name": unique(prefix), "pipeline_type_name": "etl"}
        )
    ).id


async def declare(c: Container, pipeline_id: int, sources: list[str], targets: list[str]) -> int:
    loaded = await addresses.record_address_lineage(
        c.uow_factory(), pipeline_id, [addr(s) for s in sources], [addr(t) for t in targets]
    )
    return loaded.created


async def address_id(c: Container, name: str) -> int:
    address, _ = await addresses.upsert_address(c.uow_factory(), addr(name))
    return address


async def walk(c: Container, name: str, direction: Direction, depth: int = 20) -> LineageGraph:
    return await lineage_graph.address_lineage(
        c.graph, await address_id(c, name), direction=direction, depth=depth, limit=10_000
    )


def names(graph: LineageGraph) -> dict[str, int]:
    return {n.name: n.depth for n in graph.nodes}


def edges(graph: LineageGraph) -> dict[tuple[str, str], list[int]]:
    by_id = {n.id: n.name for n in graph.nodes}
    return {
        (by_id[e.source_address_id], by_id[e.target_address_id]): [p.id for p in e.pipelines]
        for e in graph.edges
    }


async def lineage_events(c: Container, pipeline_id: int) -> list[dict[str, Any]]:
    async with c.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox.c.payload)
                .where(outbox.c.key == str(pipeline_id), outbox.c.event_type == "lineage.changed.v1")
                .order_by(outbox.c.id)
            )
        ).all()
    return [msgspec.json.decode(r[0]) for r in rows]


# -- the Watcher surface ---------------------------------------------------------------------------------------


async def test_address_type_upsert_get_patch(container: Container) -> None:
    name = unique("Warehouse")
    type_id, created = await addresses.upsert_address_type(
        container.uow_factory(), {"name": name, "group_name": "DB"}
    )
    again, created_again = await addresses.upsert_address_type(
        container.uow_factory(), {"name": f" {name.upper()} ", "group_name": "other"}
    )
    assert (created, created_again, again) == (True, False, type_id)
    row = await addresses.get_address_type(container.uow_factory(), type_id)
    assert (row.name, row.group_name) == (name.lower(), "db")  # not updated by the second upsert
    patched = await addresses.patch_address_type(
        container.uow_factory(), {"name": name, "group_name": "database"}
    )
    assert patched.group_name == "database"
    assert patched.updated_at is not None
    with pytest.raises(NotFound):
        await addresses.get_address_type(container.uow_factory(), 10**12)
    with pytest.raises(NotFound):
        await addresses.patch_address_type(container.uow_factory(), {"id": 10**12, "group_name": "x"})
    with pytest.raises(Invalid):
        await addresses.patch_address_type(container.uow_factory(), {"group_name": "x"})


async def test_address_upsert_fills_database_parts_from_a_dotted_name(container: Container) -> None:
    name = f"{unique('Shop')}.Public.Orders"
    address, created = await addresses.upsert_address(
        container.uow_factory(), {**addr(name), "primary_key": "ID", "address_metadata": {"Owner": "Team A"}}
    )
    again, created_again = await addresses.upsert_address(
        container.uow_factory(), addr(name.lower(), "other", "x")
    )
    assert (created, created_again, again) == (True, False, address)
    row = await addresses.get_address(container.uow_factory(), address)
    db = name.split(".")[0].lower()
    assert (row.name, row.database_name, row.schema_name, row.table_name) == (
        name.lower(),
        db,
        "public",
        "orders",
    )
    assert row.primary_key == "id"
    assert row.address_metadata == {"Owner": "Team A"}  # nested objects keep their case
    file_id, _ = await addresses.upsert_address(
        container.uow_factory(), addr(f"{unique('a')}.b.c", "s3", "storage")
    )
    file_row = await addresses.get_address(container.uow_factory(), file_id)
    assert file_row.database_name is None  # only the `database` group splits names
    assert any(r.id == address for r in await addresses.list_addresses(container.uow_factory()))
    assert any(t.name == "s3" for t in await addresses.list_address_types(container.uow_factory()))


async def test_address_patch_and_its_errors(container: Container) -> None:
    first, _ = await addresses.upsert_address(container.uow_factory(), addr(unique("first")))
    second_name = unique("second")
    await addresses.upsert_address(container.uow_factory(), addr(second_name))
    row = await addresses.patch_address(
        container.uow_factory(), {"id": first, "table_name": "T", "primary_key": None}
    )
    assert (row.table_name, row.primary_key, row.updated_at is not None) == ("t", None, True)
    with pytest.raises(Conflict):
        await addresses.patch_address(container.uow_factory(), {"id": first, "name": second_name})
    with pytest.raises(NotFound):
        await addresses.patch_address(container.uow_factory(), {"id": first, "address_type_id": 10**12})
    with pytest.raises(NotFound):
        await addresses.patch_address(container.uow_factory(), {"id": 10**12, "name": "x"})
    with pytest.raises(NotFound):
        await addresses.get_address(container.uow_factory(), 10**12)


async def test_address_lineage_replaces_edges_with_sources_times_targets(container: Container) -> None:
    pipeline_id = await new_pipeline(container)
    a, b, c, d = (unique(x) for x in "abcd")
    assert await declare(container, pipeline_id, [a, b], [c, d]) == 4
    graph = await lineage_graph.pipeline_lineage(container.graph, pipeline_id, depth=0, limit=100)
    assert set(edges(graph)) == {(a, c), (a, d), (b, c), (b, d)}
    assert await declare(container, pipeline_id, [a], [c]) == 1
    graph = await lineage_graph.pipeline_lineage(container.graph, pipeline_id, depth=0, limit=100)
    assert set(edges(graph)) == {(a, c)}


async def test_no_lineage_is_loaded_when_the_pipeline_says_so(container: Container) -> None:
    pipeline_id = await new_pipeline(container)
    await pipelines.patch_pipeline(container.uow_factory(), {"id": pipeline_id, "load_lineage": False})
    loaded = await addresses.record_address_lineage(
        container.uow_factory(), pipeline_id, [addr(unique("s"))], [addr(unique("t"))]
    )
    assert (loaded.loaded, loaded.created) == (False, 0)
    assert "load_lineage" in loaded.message
    graph = await lineage_graph.pipeline_lineage(container.graph, pipeline_id, depth=0, limit=100)
    assert graph.edges == []
    with pytest.raises(NotFound):
        await addresses.record_address_lineage(container.uow_factory(), 10**12, [], [])


# -- a graph that stays correct --------------------------------------------------------------------------------


async def test_diamond_is_walked_once_each_way(container: Container) -> None:
    a, b, c, d = (unique(x) for x in "ABCD")
    p1, p2, p3, p4 = [await new_pipeline(container) for _ in range(4)]
    await declare(container, p1, [a], [b])
    await declare(container, p2, [a], [c])
    await declare(container, p3, [b], [d])
    await declare(container, p4, [c], [d])
    down = await walk(container, a, Direction.DOWNSTREAM)
    assert names(down) == {a.lower(): 0, b.lower(): 1, c.lower(): 1, d.lower(): 2}
    assert len(down.edges) == 4
    up = await walk(container, d, Direction.UPSTREAM)
    assert names(up) == {d.lower(): 0, b.lower(): 1, c.lower(): 1, a.lower(): 2}
    assert edges(up) == {
        (a.lower(), b.lower()): [p1],
        (a.lower(), c.lower()): [p2],
        (b.lower(), d.lower()): [p3],
        (c.lower(), d.lower()): [p4],
    }
    both = await walk(container, b, Direction.BOTH)
    assert names(both) == {b.lower(): 0, a.lower(): 1, d.lower(): 1}


async def test_cycles_terminate_and_each_address_appears_once(container: Container) -> None:
    a, b, c = (unique(x) for x in "abc")
    for source, target in ((a, b), (b, c), (c, a)):
        await declare(container, await new_pipeline(container), [source], [target])
    self_loop = await new_pipeline(container)
    await declare(container, self_loop, [a], [a])  # a pipeline that merges into the table it reads
    expected = {
        Direction.DOWNSTREAM: {a: 0, b: 1, c: 2},
        Direction.UPSTREAM: {a: 0, c: 1, b: 2},
        Direction.BOTH: {a: 0, b: 1, c: 1},
    }
    for direction, depths in expected.items():
        graph = await walk(container, a, direction, depth=100)
        assert names(graph) == depths
        assert set(edges(graph)) == {(a, b), (b, c), (c, a), (a, a)}


async def test_one_edge_declared_by_two_pipelines(container: Container) -> None:
    x, y = unique("x"), unique("y")
    p1, p2 = await new_pipeline(container), await new_pipeline(container)
    assert await declare(container, p1, [x], [y]) == 1
    assert await declare(container, p2, [x], [y]) == 1  # the reference answers 500 here
    graph = await walk(container, x, Direction.DOWNSTREAM)
    assert edges(graph) == {(x, y): [p1, p2]}
    await declare(container, p1, [x], [])  # p1 stops declaring it: p2 still does
    assert edges(await walk(container, x, Direction.DOWNSTREAM)) == {(x, y): [p2]}
    await declare(container, p2, [], [y])
    graph = await walk(container, x, Direction.DOWNSTREAM)
    assert graph.edges == []
    assert names(graph) == {x: 0}


async def test_edges_a_pipeline_stops_declaring_disappear_from_every_query(container: Container) -> None:
    a, b, c = unique("a"), unique("b"), unique("c")
    pipeline_id = await new_pipeline(container)
    await declare(container, pipeline_id, [a], [b])
    await declare(container, pipeline_id, [a], [c])
    assert names(await walk(container, a, Direction.DOWNSTREAM)) == {a: 0, c: 1}
    assert names(await walk(container, b, Direction.BOTH)) == {b: 0}
    own = await lineage_graph.pipeline_lineage(container.graph, pipeline_id, depth=20, limit=100)
    assert set(edges(own)) == {(a, c)}


async def test_lineage_changed_is_published_only_when_edges_change(container: Container) -> None:
    a, b, c = unique("a"), unique("b"), unique("c")
    pipeline_id = await new_pipeline(container)
    await declare(container, pipeline_id, [a], [b])
    await declare(container, pipeline_id, [a], [b])  # the same again: nothing changed
    await declare(container, pipeline_id, [a], [c])
    first, second = await lineage_events(container, pipeline_id)
    ids = {x["name"]: x["id"] for e in (first, second) for x in e["addresses"]}
    assert first["origin"] == "watcher"
    assert first["removed"] == []
    assert first["added"] == [{"source_address_id": ids[a], "target_address_id": ids[b]}]
    assert second["edges"] == [{"source_address_id": ids[a], "target_address_id": ids[c]}]
    assert second["removed"] == [{"source_address_id": ids[a], "target_address_id": ids[b]}]
    assert {x["address_type_group_name"] for x in second["addresses"]} == {"database"}


async def test_depth_and_limit_bound_the_walk(container: Container) -> None:
    chain = [unique(f"n{i}") for i in range(26)]
    for source, target in itertools.pairwise(chain):
        await declare(container, await new_pipeline(container), [source], [target])
    deep = await walk(container, chain[0], Direction.DOWNSTREAM)
    assert len(deep.nodes) == 21
    assert max(n.depth for n in deep.nodes) == 20
    assert len(deep.edges) == 20
    assert not deep.truncated
    short = await walk(container, chain[0], Direction.DOWNSTREAM, depth=3)
    assert [n.name for n in short.nodes] == chain[:4]
    start = await address_id(container, chain[0])
    capped = await lineage_graph.address_lineage(
        container.graph, start, direction=Direction.DOWNSTREAM, depth=20, limit=5
    )
    assert capped.truncated
    assert len(capped.nodes) == 5
    ids = {n.id for n in capped.nodes}
    assert all(e.source_address_id in ids and e.target_address_id in ids for e in capped.edges)
    with pytest.raises(Invalid):
        await lineage_graph.address_lineage(
            container.graph, start, direction=Direction.BOTH, depth=0, limit=5
        )
    with pytest.raises(NotFound):
        await lineage_graph.address_lineage(
            container.graph, 10**12, direction=Direction.BOTH, depth=1, limit=5
        )


async def test_pipeline_lineage_walks_out_from_its_own_edges(container: Container) -> None:
    raw, staged, mart, report = (unique(x) for x in ("raw", "staged", "mart", "report"))
    ingest, transform, publish = [await new_pipeline(container) for _ in range(3)]
    await declare(container, ingest, [raw], [staged])
    await declare(container, transform, [staged], [mart])
    await declare(container, publish, [mart], [report])
    own = await lineage_graph.pipeline_lineage(container.graph, transform, depth=0, limit=100)
    assert names(own) == {staged: 0, mart: 0}
    assert own.pipeline_id == transform
    around = await lineage_graph.pipeline_lineage(container.graph, transform, depth=20, limit=100)
    assert names(around) == {staged: 0, mart: 0, raw: 1, report: 1}
    assert edges(around)[(staged, mart)] == [transform]
    empty = await new_pipeline(container)
    assert (await lineage_graph.pipeline_lineage(container.graph, empty, depth=20, limit=100)).nodes == []
    with pytest.raises(NotFound):
        await lineage_graph.pipeline_lineage(container.graph, 10**12, depth=1, limit=100)
