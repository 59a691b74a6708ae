"""The destinations' warehouses of one process: a connection pool per destination DSN, opened on first use and
closed with the container; a `PostgresWarehouse` per schema shares its DSN's pool."""

from __future__ import annotations

import asyncio

import asyncpg

from headwater.common.errors import UseCaseError
from headwater.common.logging import get_logger
from headwater.ingestion.adapters.warehouse.postgres import PostgresWarehouse

log = get_logger(__name__)

CONNECT_SECONDS = 10.0


class DestinationUnavailable(UseCaseError):
    """The dataset's destination database cannot be reached (or refuses the login): 503, try again later."""

    status = 503


class WarehousePools:
    """Opens each destination's pool once; `close` closes them all."""

    def __init__(self, *, max_size: int = 4) -> None:
        self._max_size = max_size
        self._pools: dict[str, asyncpg.Pool] = {}
        self._lock = asyncio.Lock()

    async def warehouse(self, dsn: str, schema: str) -> PostgresWarehouse:
        pool = self._pools.get(dsn)
        if pool is None:
            async with self._lock:
                pool = self._pools.get(dsn)
                if pool is None:
                    pool = self._pools[dsn] = await self._open(dsn)
        return PostgresWarehouse(pool, schema)

    async def _open(self, dsn: str) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                dsn, min_size=1, max_size=self._max_size, timeout=CONNECT_SECONDS
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("destination_unreachable", error=type(e).__name__)
            raise DestinationUnavailable(
                f"the dataset's destination database cannot be reached ({type(e).__name__}); check the "
                "destination's host, port, user and password"
            ) from e

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
