"""Use cases for address types, addresses and the Watcher's address lineage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.common.contracts.watcher import DEFAULT_LIST_LIMIT
from headwater.common.errors import NotFound
from headwater.common.events import LineageAddress, LineageChanged, LineageEdge
from headwater.execution_tracking.domain.records import (
    AddressRecord,
    AddressTypeRecord,
    DescribedAddress,
    EdgeChange,
    PipelineRecord,
    StoredAddress,
)
from headwater.execution_tracking.domain.rules import normalise
from headwater.execution_tracking.service_layer.editing import (
    get_by_id,
    list_page,
    patch_fields,
    patch_row,
    upsert_by_name,
)
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

DATABASE_GROUP = "database"
# The columns of an address a client sets besides its name and type.
ADDRESS_COLUMNS = ("database_name", "schema_name", "table_name", "primary_key", "address_metadata")


def address_parts(name: str, group_name: str) -> dict[str, str]:
    """A `database` address named `db.schema.table` fills database, schema and table from its name."""
    parts = name.split(".")
    if group_name != DATABASE_GROUP or len(parts) != 3 or not all(parts):
        return {}
    return dict(zip(("database_name", "schema_name", "table_name"), parts, strict=True))


# -- address types ----------------------------------------------------------------------------------------------


async def upsert_address_type(uow: UnitOfWork, fields: dict[str, Any]) -> tuple[int, bool]:
    """Get-or-create by name: (id, created). An existing type is returned unchanged."""
    return await upsert_by_name(uow, lambda u: u.address_types, normalise(fields))


async def patch_address_type(uow: UnitOfWork, fields: dict[str, Any]) -> AddressTypeRecord:
    """Set every field sent on the type found by `id` (or by `name` when no id is sent)."""
    target, fields = patch_fields(fields, normalise, "address type")
    return await patch_row(
        uow,
        lambda u: u.address_types,
        target,
        fields,
        what="address type",
        duplicate=f"an address type named {fields.get('name')!r} already exists",
    )


async def get_address_type(uow: UnitOfWork, type_id: int) -> AddressTypeRecord:
    return await get_by_id(uow, lambda u: u.address_types, type_id, "address type")


async def list_address_types(
    uow: UnitOfWork, *, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0
) -> Sequence[AddressTypeRecord]:
    return await list_page(uow, lambda u: u.address_types, limit=limit, offset=offset)


# -- addresses --------------------------------------------------------------------------------------------------


def _address_row(fields: Mapping[str, Any], type_id: int) -> dict[str, Any]:
    """The columns of a new address; database, schema and table come from a dotted name unless sent."""
    values = {
        "name": fields["name"],
        "address_type_id": type_id,
        **address_parts(fields["name"], fields["address_type_group_name"]),
    }
    for column in ADDRESS_COLUMNS:
        if fields.get(column) is not None:
            values[column] = fields[column]
    return values


async def store_addresses(
    uow: UnitOfWork, addresses: Sequence[Mapping[str, Any]]
) -> dict[str, StoredAddress]:
    """Get-or-create addresses (normalised Watcher fields) and their types, set-based; keyed by name."""
    if not addresses:
        return {}
    groups: dict[str, str] = {}
    for a in addresses:
        groups.setdefault(a["address_type_name"], a["address_type_group_name"])
    type_ids = await uow.address_types.get_or_create_many(groups)
    return await uow.addresses.get_or_create_many(
        [_address_row(a, type_ids[a["address_type_name"]]) for a in addresses]
    )


async def upsert_address(uow: UnitOfWork, fields: dict[str, Any]) -> tuple[int, bool]:
    """Get-or-create by name (the type too): (id, created). Re-posting an existing address updates what the
    request changes, as the Watcher does: its type and each of `ADDRESS_COLUMNS` sent (null included); the
    parts a `database` name implies fill only a new address, so a PATCHed part is not undone by a re-post."""
    fields = normalise(fields)
    async with uow:
        stored = (await store_addresses(uow, [fields]))[fields["name"]]
        if not stored.created:
            current = await uow.addresses.locked(stored.id, None)
            assert current is not None  # addresses are never deleted
            type_ids = await uow.address_types.get_or_create_many(
                {fields["address_type_name"]: fields["address_type_group_name"]}
            )
            wanted = {"address_type_id": type_ids[fields["address_type_name"]]}
            wanted |= {column: fields[column] for column in ADDRESS_COLUMNS if column in fields}
            changes = {column: value for column, value in wanted.items() if getattr(current, column) != value}
            if changes:
                await uow.addresses.update(stored.id, changes)
        await uow.commit()
        return stored.id, stored.created


async def patch_address(uow: UnitOfWork, fields: dict[str, Any]) -> AddressRecord:
    """Set every field sent on the address found by `id`."""
    address_id = fields.pop("id")
    fields = normalise(fields)
    return await patch_row(
        uow,
        lambda u: u.addresses,
        (address_id, None),
        fields,
        what="address",
        duplicate=f"an address named {fields.get('name')!r} already exists",
        missing=f"address type {fields.get('address_type_id')} not found",
    )


async def get_address(uow: UnitOfWork, address_id: int) -> AddressRecord:
    return await get_by_id(uow, lambda u: u.addresses, address_id, "address")


async def list_addresses(
    uow: UnitOfWork, *, limit: int = DEFAULT_LIST_LIMIT, offset: int = 0
) -> Sequence[AddressRecord]:
    return await list_page(uow, lambda u: u.addresses, limit=limit, offset=offset)


# -- lineage ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineageLoaded:
    """What `POST /address_lineage` answers: 201 with the count when loaded, 200 with 0 when not."""

    pipeline_id: int
    created: int
    loaded: bool

    @property
    def message(self) -> str:
        if self.loaded:
            return f"Lineage relationships created for pipeline {self.pipeline_id}"
        return f"Pipeline {self.pipeline_id} does not have load_lineage=True, no relationships created"


async def record_address_lineage(
    uow: UnitOfWork,
    pipeline_id: int,
    sources: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
) -> LineageLoaded:
    """Replace the pipeline's edges by sources x targets, unless its `load_lineage` is off."""
    sources = [normalise(dict(a)) for a in sources]
    targets = [normalise(dict(a)) for a in targets]
    async with uow:
        pipeline = await uow.pipelines.locked(pipeline_id, None)
        if pipeline is None:
            raise NotFound(f"pipeline {pipeline_id} not found")
        if not pipeline.load_lineage:
            return LineageLoaded(pipeline_id, 0, loaded=False)
        stored = await store_addresses(uow, [*sources, *targets])
        source_ids = {stored[a["name"]].id for a in sources}
        target_ids = {stored[a["name"]].id for a in targets}
        edges = [(s, t) for s in source_ids for t in target_ids]
        await replace_edges(uow, pipeline, edges, origin="watcher")
        await uow.commit()
        return LineageLoaded(pipeline_id, len(edges), loaded=True)


async def replace_edges(
    uow: UnitOfWork, pipeline: PipelineRecord, edges: Sequence[tuple[int, int]], *, origin: str
) -> EdgeChange:
    """Inside the caller's open `uow`: make the pipeline's edges exactly `edges`; publishes `lineage.changed`
    when that changes anything.

    The caller holds the pipeline's row lock, so concurrent replaces of one pipeline's edges take turns.
    """
    change = await uow.lineage.replace(pipeline.id, edges)
    if change.changed:
        uow.publish(await lineage_changed(uow, pipeline, change, origin=origin))
    return change


def _edges(pairs: Iterable[tuple[int, int]]) -> list[LineageEdge]:
    return [LineageEdge(source_address_id=s, target_address_id=t) for s, t in pairs]


async def lineage_changed(
    uow: UnitOfWork, pipeline: PipelineRecord, change: EdgeChange, *, origin: str
) -> LineageChanged:
    """The `lineage.changed` event of a replace, with the addresses its edges touch."""
    touched = {a for pair in (*change.edges, *change.removed) for a in pair}
    described: Sequence[DescribedAddress] = await uow.addresses.described(sorted(touched)) if touched else []
    return LineageChanged(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        origin=origin,
        addresses=[
            LineageAddress(
                id=a.id,
                name=a.name,
                address_type_name=a.address_type_name,
                address_type_group_name=a.address_type_group_name,
            )
            for a in described
        ],
        edges=_edges(change.edges),
        added=_edges(change.added),
        removed=_edges(change.removed),
    )
