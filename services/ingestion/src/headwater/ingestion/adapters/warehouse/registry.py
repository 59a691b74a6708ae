"""The destination warehouses a process loads into: one pool per (DSN, schema), opened on first use and kept
until the process closes them."""

from __future__ import annotations

import asyncio

from headwater.ingestion.adapters.warehouse.postgres import PostgresWarehouse


class Warehouses:
    """Open warehouses by (DSN, schema); `get` opens one on first use (concurrent callers share it)."""

    def __init__(self, *, max_size: int = 4) -> None:
        self._open: dict[tuple[str, str], PostgresWarehouse] = {}
        self._lock = asyncio.Lock()
        self._max_size = max_size

    async def get(self, dsn: str, schema: str) -> PostgresWarehouse:
        key = (dsn, schema)
        async with self._lock:
            found = self._open.get(key)
            if found is None:
                found = self._open[key] = await PostgresWarehouse.open(dsn, schema, max_size=self._max_size)
            return found

    async def close(self) -> None:
        async with self._lock:
            opened, self._open = list(self._open.values()), {}
        for warehouse in opened:
            await warehouse.close()
