"""Repositories for address types, addresses, lineage edges and the datasets of OpenLineage runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import select, text

from headwater.common.db.repository import Repository
from headwater.execution_tracking.adapters.db.base import Rows
from headwater.execution_tracking.adapters.db.tables import address, address_type
from headwater.execution_tracking.domain.records import (
    AddressRecord,
    AddressTypeRecord,
    DescribedAddress,
    EdgeChange,
    Pair,
    StoredAddress,
)

ADDRESS_FIELDS = ("database_name", "schema_name", "table_name", "primary_key", "address_metadata")


class AddressTypes(Rows[AddressTypeRecord]):
    table = address_type
    columns = tuple(address_type.c)
    record = AddressTypeRecord

    async def get_or_create_many(self, types: Mapping[str, str]) -> dict[str, int]:
        """Ids of the types named (name -> group); missing ones are created with that group."""
        found = await self._ids(sorted(types))
        missing = sorted(set(types) - found.keys())
        if missing:
            insert_missing = text(
                """
                INSERT INTO address_type (name, group_name)
                SELECT * FROM unnest(CAST(:names AS text[]), CAST(:groups AS text[]))
                ON CONFLICT (name) DO NOTHING
                """
            )
            await self.write(insert_missing, {"names": missing, "groups": [types[n] for n in missing]})
            found.update(await self._ids(missing))
        return found

    async def _ids(self, names: Sequence[str]) -> dict[str, int]:
        rows = await self.conn.execute(
            select(address_type.c.name, address_type.c.id).where(address_type.c.name.in_(names))
        )
        return {name: type_id for name, type_id in rows}


class Addresses(Rows[AddressRecord]):
    table = address
    columns = tuple(address.c)
    record = AddressRecord

    async def get_or_create_many(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, StoredAddress]:
        """Get-or-create by name, set-based; an existing address is left as it is. Keyed by name."""
        by_name = {r["name"]: r for r in reversed(rows)}  # the first mention of a name wins
        stored = await self._existing(sorted(by_name))
        names = sorted(by_name.keys() - stored.keys())
        if names:
            stored.update(await self._insert([by_name[n] for n in names]))
        return stored

    async def _existing(self, names: Sequence[str]) -> dict[str, StoredAddress]:
        found = await self.conn.execute(select(address.c.id, address.c.name).where(address.c.name.in_(names)))
        return {name: StoredAddress(i, name, False) for i, name in found}

    async def _insert(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, StoredAddress]:
        """Insert new addresses; one inserted concurrently by someone else since we looked is read back."""
        names = [r["name"] for r in rows]
        by_name = {r["name"]: r for r in rows}
        params: dict[str, list[Any]] = {"name": names}
        params["address_type_id"] = [by_name[n]["address_type_id"] for n in names]
        for field in ADDRESS_FIELDS:
            params[field] = [by_name[n].get(field) for n in names]
        params["address_metadata"] = [
            None if m is None else msgspec.json.encode(m).decode() for m in params["address_metadata"]
        ]
        created = await self.write(
            text(
                """
                INSERT INTO address
                    (name, address_type_id, database_name, schema_name, table_name, primary_key, address_metadata)
                SELECT n, t, d, s, tb, pk, CAST(m AS jsonb) FROM unnest(
                    CAST(:name AS text[]), CAST(:address_type_id AS bigint[]), CAST(:database_name AS text[]),
                    CAST(:schema_name AS text[]), CAST(:table_name AS text[]), CAST(:primary_key AS text[]),
                    CAST(:address_metadata AS text[])
                ) AS v(n, t, d, s, tb, pk, m)
                ON CONFLICT (name) DO NOTHING
                RETURNING id, name
                """
            ),
            params,
        )
        stored = {row.name: StoredAddress(row.id, row.name, True) for row in created}
        raced = [n for n in names if n not in stored]
        if raced:
            stored.update(await self._existing(raced))
        return stored

    async def described(self, address_ids: Sequence[int]) -> list[DescribedAddress]:
        """Addresses with their type's name and group, for events."""
        stmt = (
            select(
                address.c.id,
                address.c.name,
                address.c.address_type_id,
                address_type.c.name.label("address_type_name"),
                address_type.c.group_name.label("address_type_group_name"),
                address.c.database_name,
                address.c.schema_name,
                address.c.table_name,
            )
            .join(address_type, address_type.c.id == address.c.address_type_id)
            .where(address.c.id.in_(address_ids))
            .order_by(address.c.id)
        )
        return await self.all(stmt, DescribedAddress)


class Lineage(Repository):
    """The edges each pipeline declares."""

    async def replace(self, pipeline_id: int, edges: Sequence[Pair]) -> EdgeChange:
        """Make the pipeline's edges exactly `edges` in one statement: stale ones go, new ones come."""
        wanted = sorted(set(edges))
        result = await self.write(
            text(
                """
                WITH wanted AS (
                    SELECT * FROM unnest(CAST(:sources AS bigint[]), CAST(:targets AS bigint[])) AS w(s, t)
                ),
                removed AS (
                    DELETE FROM address_lineage l
                    WHERE l.pipeline_id = :pipeline_id AND NOT EXISTS (
                        SELECT 1 FROM wanted w WHERE w.s = l.source_address_id AND w.t = l.target_address_id
                    )
                    RETURNING source_address_id, target_address_id
                ),
                added AS (
                    INSERT INTO address_lineage (pipeline_id, source_address_id, target_address_id)
                    SELECT :pipeline_id, s, t FROM wanted
                    ON CONFLICT DO NOTHING
                    RETURNING source_address_id, target_address_id
                )
                SELECT false AS is_added, * FROM removed UNION ALL SELECT true, * FROM added
                """
            ),
            {
                "pipeline_id": pipeline_id,
                "sources": [s for s, _ in wanted],
                "targets": [t for _, t in wanted],
            },
        )
        added: list[Pair] = []
        removed: list[Pair] = []
        for row in result:
            (added if row.is_added else removed).append((row.source_address_id, row.target_address_id))
        return EdgeChange(wanted, sorted(added), sorted(removed))


class RunDatasets(Repository):
    """The inputs and outputs each OpenLineage run declared, accumulated over its events."""

    async def add(self, execution_id: int, inputs: Sequence[int], outputs: Sequence[int]) -> int:
        """Record datasets of a run; returns how many were new to it."""
        roles = ["input"] * len(inputs) + ["output"] * len(outputs)
        result = await self.write(
            text(
                """
                INSERT INTO run_dataset (execution_id, role, address_id)
                SELECT :execution_id, r, a FROM unnest(CAST(:roles AS text[]), CAST(:ids AS bigint[])) AS v(r, a)
                ON CONFLICT DO NOTHING
                """
            ),
            {"execution_id": execution_id, "roles": roles, "ids": [*inputs, *outputs]},
        )
        return result.rowcount

    async def latest_complete_run(self, pipeline_id: int) -> tuple[list[int], list[int]] | None:
        """Inputs and outputs of the pipeline's latest run (by start, then run id) that declared both."""
        rows = await self.conn.execute(
            text(
                """
                WITH latest AS (
                    SELECT e.id FROM pipeline_execution e
                    WHERE e.pipeline_id = :pipeline_id
                      AND EXISTS (SELECT 1 FROM run_dataset d WHERE d.execution_id = e.id AND d.role = 'input')
                      AND EXISTS (SELECT 1 FROM run_dataset d WHERE d.execution_id = e.id AND d.role = 'output')
                    ORDER BY e.start_date DESC, e.run_id DESC
                    LIMIT 1
                )
                SELECT d.role, d.address_id FROM run_dataset d JOIN latest ON d.execution_id = latest.id
                ORDER BY d.address_id
                """
            ),
            {"pipeline_id": pipeline_id},
        )
        inputs: list[int] = []
        outputs: list[int] = []
        for role, address_id in rows:
            (inputs if role == "input" else outputs).append(address_id)
        return (inputs, outputs) if inputs else None
