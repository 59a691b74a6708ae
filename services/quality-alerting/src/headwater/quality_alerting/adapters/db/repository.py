"""The base of quality-alerting's repositories: each works on the connection of the unit of work it is bound to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
