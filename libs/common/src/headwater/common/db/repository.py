"""The base of every repository: it works on the connection of the unit of work that binds it, reads rows as
typed records and writes so that a refusal leaves as `Duplicate` / `MissingReference`, never a database error;
and the column arrays of a set-based write."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.common.db.errors import integrity_errors_as_domain_errors

R = TypeVar("R")


def columns(items: Sequence[Any], *names: str) -> dict[str, list[Any]]:
    """The attributes `names` of `items` as one array per column, for a single `INSERT ... SELECT FROM unnest(...)`."""
    return {name: [getattr(item, name) for item in items] for name in names}


class Repository:
    """Built by the unit of work's `bind()` on its connection: every statement runs in its transaction."""

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
