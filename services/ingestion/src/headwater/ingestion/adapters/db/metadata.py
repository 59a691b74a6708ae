"""Repositories of ingestion's metadata: the versioned documents (datasets, destinations, data sources) with
their history and per-field validation rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.ingestion.adapters.db.tables import (
    data_source,
    dataset,
    destination,
    field_validation,
    history,
)
from headwater.ingestion.domain.metadata import (
    Filter,
    HistoryEntry,
    Kind,
    Stored,
)

TABLES: dict[Kind, Table] = {
    Kind.DATASET: dataset,
    Kind.DESTINATION: destination,
    Kind.DATA_SOURCE: data_source,
}
# The column naming a document's parent: a dataset's destination, a data source's dataset.
PARENTS: dict[Kind, str | None] = {
    Kind.DATASET: "destination_id",
    Kind.DESTINATION: None,
    Kind.DATA_SOURCE: "dataset_id",
}


class Documents(Repository):
    """Versioned documents of one kind; every write appends the document's new state to `history`."""

    def __init__(self, conn: Any, kind: Kind) -> None:
        super().__init__(conn)
        self.kind = kind
        self.table = TABLES[kind]
        parent = PARENTS[kind]
        self.parent = self.table.c[parent] if parent else None

    def _columns(self) -> list[ColumnElement[Any]]:
        t = self.table
        parent = (self.parent if self.parent is not None else literal(None, BigInteger)).label("parent_id")
        return [t.c.id, t.c.version_id, t.c.state, t.c.name, parent, t.c.body, t.c.created_at, t.c.updated_at]

    def _visible(self, data_sources: Sequence[int] | None) -> ColumnElement[bool]:
        """What a `limited_to_source` caller may see: its data sources, and the datasets that hold one."""
        if data_sources is None:
            return true()
        if self.kind is Kind.DATA_SOURCE:
            return self.table.c.id.in_(list(data_sources))
        if self.kind is Kind.DATASET:
            return exists().where(
                and_(data_source.c.dataset_id == dataset.c.id, data_source.c.id.in_(list(data_sources)))
            )
        return self.table.c.id.in_(
            select(dataset.c.destination_id).where(
                exists().where(
                    and_(data_source.c.dataset_id == dataset.c.id, data_source.c.id.in_(list(data_sources)))
                )
            )
        )

    async def add(
        self, *, state: str, name: str | None, parent_id: int | None, body: dict[str, Any], by: str | None
    ) -> Stored:
        values: dict[str, Any] = {"state": state, "name": name, "body": body, "version_id": 0}
        if self.parent is not None:
            values[self.parent.name] = parent_id
        stmt: Executable = insert(self.table).values(**values).returning(*self._columns())
        row = await self.written(stmt, Stored)
        await self._record(row, "created", by)
        return row

    async def get(
        self, entity_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> Stored | None:
        stmt = select(*self._columns()).where(self.table.c.id == entity_id, self._visible(data_sources))
        return await self.first(stmt.with_for_update() if lock else stmt, Stored)

    async def replace(
        self,
        current: Stored,
        *,
        state: str,
        name: str | None,
        parent_id: int | None,
        body: dict[str, Any],
        by: str | None,
        change: str = "updated",
    ) -> Stored:
        """Write the new state of a locked document: its version goes up by one."""
        values: dict[str, Any] = {
            "state": state,
            "name": name,
            "body": body,
            "version_id": current.version_id + 1,
            "updated_at": func.now(),
        }
        if self.parent is not None:
            values[self.parent.name] = parent_id
        stmt: Executable = (
            update(self.table)
            .where(self.table.c.id == current.id)
            .values(**values)
            .returning(*self._columns())
        )
        row = await self.written(stmt, Stored)
        await self._record(row, change, by)
        return row

    async def _record(self, row: Stored, change: str, by: str | None) -> None:
        await self.write(
            insert(history).values(
                kind=self.kind.value,
                entity_id=row.id,
                version_id=row.version_id,
                change=change,
                state=row.state,
                body=row.body | {"name": row.name},
                changed_by=by,
            )
        )

    async def history(self, entity_id: int) -> list[HistoryEntry]:
        stmt = (
            select(
                history.c.entity_id,
                history.c.version_id,
                history.c.change,
                history.c.state,
                history.c.body,
                history.c.changed_at,
                history.c.changed_by,
            )
            .where(history.c.kind == self.kind.value, history.c.entity_id == entity_id)
            .order_by(history.c.id)
        )
        return await self.all(stmt, HistoryEntry)

    async def walk(
        self, matching: Filter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Stored]:
        """Up to `limit` documents `matching`, walking the ids up (or down) from `from_id` inclusive."""
        t = self.table
        where: list[ColumnElement[bool]] = [self._visible(matching.data_sources)]
        if matching.states is not None:
            where.append(t.c.state.in_(list(matching.states)))
        if matching.parent_id is not None and self.parent is not None:
            where.append(self.parent == matching.parent_id)
        if from_id is not None:
            where.append(t.c.id >= from_id if ascending else t.c.id <= from_id)
        stmt = (
            select(*self._columns())
            .where(*where)
            .order_by(t.c.id.asc() if ascending else t.c.id.desc())
            .limit(limit)
        )
        return await self.all(stmt, Stored)

    async def names(self, ids: Sequence[int]) -> dict[int, str | None]:
        rows = (
            await self.conn.execute(
                select(self.table.c.id, self.table.c.name).where(self.table.c.id.in_(list(ids)))
            )
        ).all()
        return {int(r[0]): r[1] for r in rows}

    async def count(self, matching: Filter) -> int:
        """How many documents match (states, parent, the caller's data sources)."""
        t = self.table
        where: list[ColumnElement[bool]] = [self._visible(matching.data_sources)]
        if matching.states is not None:
            where.append(t.c.state.in_(list(matching.states)))
        if matching.parent_id is not None and self.parent is not None:
            where.append(self.parent == matching.parent_id)
        return int(await self.conn.scalar(select(func.count()).select_from(t).where(*where)) or 0)

    async def last_change(self, entity_id: int) -> datetime | None:
        value = await self.conn.scalar(
            select(func.max(history.c.changed_at)).where(
                history.c.kind == self.kind.value, history.c.entity_id == entity_id
            )
        )
        return value


class FieldValidations(Repository):
    async def get(self, dataset_id: int, field_name: str) -> dict[str, Any] | None:
        f = field_validation.c
        return await self.conn.scalar(
            select(f.rules).where(f.dataset_id == dataset_id, f.field_name == field_name)
        )

    async def put(self, dataset_id: int, field_name: str, rules: dict[str, Any]) -> None:
        stmt = pg_insert(field_validation).values(dataset_id=dataset_id, field_name=field_name, rules=rules)
        await self.write(
            stmt.on_conflict_do_update(
                index_elements=[field_validation.c.dataset_id, field_validation.c.field_name],
                set_={"rules": stmt.excluded.rules, "updated_at": func.now()},
            )
        )

    async def of_dataset(self, dataset_id: int) -> dict[str, dict[str, Any]]:
        f = field_validation.c
        rows = (
            await self.conn.execute(
                select(f.field_name, f.rules).where(f.dataset_id == dataset_id).order_by(f.field_name)
            )
        ).all()
        return {str(r[0]): dict(r[1]) for r in rows}
