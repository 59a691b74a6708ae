"""The get/list/update/get-or-create of execution-tracking's named rows (pipeline types, pipelines, address types,
addresses), on the common repository base."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert

from headwater.common.db.repository import Repository

R = TypeVar("R")


class Rows(Repository, Generic[R]):
    """A table of rows with an `id`, a unique `name` and an `updated_at`, read as records of one kind; a
    subclass names its `table`, the `columns` a record holds and the `record` class."""

    table: Table
    columns: tuple[ColumnElement[Any], ...]
    record: Callable[..., R]

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None:
        """Insert a row; None when one of that name exists (it is not updated)."""
        stmt = (
            insert(self.table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(self.table.c.id)
        )
        return (await self.write(stmt)).scalar()

    async def id_by_name(self, name: str) -> int | None:
        return (await self.conn.execute(select(self.table.c.id).where(self.table.c.name == name))).scalar()

    async def get(self, row_id: int) -> R | None:
        return await self.first(select(*self.columns).where(self.table.c.id == row_id), self.record)

    async def locked(self, row_id: int | None, name: str | None) -> R | None:
        """The row with this id (or, without one, this name), locked for the rest of the transaction."""
        cond = self.table.c.id == row_id if row_id is not None else self.table.c.name == name
        return await self.first(select(*self.columns).where(cond).with_for_update(), self.record)

    async def list(self, limit: int, offset: int) -> list[R]:
        stmt = select(*self.columns).order_by(self.table.c.id).limit(limit).offset(offset)
        return await self.all(stmt, self.record)

    async def update(self, row_id: int, values: Mapping[str, Any]) -> R:
        stmt = (
            update(self.table)
            .where(self.table.c.id == row_id)
            .values(**values, updated_at=func.now())
            .returning(*self.columns)
        )
        return await self.written(stmt, self.record)
