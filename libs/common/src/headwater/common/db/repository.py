"""The base of every repository: it works on the connection of the unit of work that binds it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class Repository:
    """Built by the unit of work's `bind()` on its connection: every statement runs in its transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
