"""What every repository of execution-tracking shares: its connection, reading rows as typed records, writes
whose refusals leave as `Duplicate` / `MissingReference`, and the get/list/update/get-or-create of named rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, CursorResult, Executable, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.common.db.errors import integrity_errors_as_domain_errors

R = TypeVar("R")


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def write(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """Execute a statement that changes rows; a unique or foreign-key violation leaves as a domain error."""
        with integrity_errors_as_domain_errors():
            return await self.conn.execute(stmt, params)

    async def first(self, stmt: Executable, record: Callable[..., R]) -> R | None:
        """The first row of a query as a record (`record(**row)`), or None."""
        row = (await self.conn.execute(stmt)).mappings().first()
        return None if row is None else record(**row)

    async def all(self, stmt: Executable, record: Callable[..., R]) -> list[R]:
        """Every row of a query as a record (`record(**row)`)."""
        return [record(**row) for row in (await self.conn.execute(stmt)).mappings()]

    async def written(self, stmt: Executable, record: Callable[..., R]) -> R:
        """The one row a write returns (`RETURNING`), as a record."""
        return record(**(await self.write(stmt)).mappings().one())


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

    async def list(self) -> list[R]:
        return await self.all(select(*self.columns).order_by(self.table.c.id), self.record)

    async def update(self, row_id: int, values: Mapping[str, Any]) -> R:
        stmt = (
            update(self.table)
            .where(self.table.c.id == row_id)
            .values(**values, updated_at=func.now())
            .returning(*self.columns)
        )
        return await self.written(stmt, self.record)
