"""The composition root: settings, logging, telemetry, engine, unit-of-work factory and the asyncpg pool of the
hot path, built on demand."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.engine import to_asyncpg_dsn
from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.service import ServiceContainer, start_process
from headwater.common.settings import load_settings
from headwater.execution_tracking import SCHEMA, SERVICE
from headwater.execution_tracking.adapters.db.lineage_graph import LineageGraphReader
from headwater.execution_tracking.adapters.db.run_writer import RunWriter, create_pool
from headwater.execution_tracking.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.execution_tracking.settings import Settings


@dataclass
class Container(ServiceContainer):
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory[SqlUnitOfWork]
    _runs: RunWriter | None = None
    _graph: LineageGraphReader | None = None
    _pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Open what needs a running event loop: the asyncpg pool of the hot path."""
        if self._pool is None:
            self._pool = await create_pool(
                to_asyncpg_dsn(self.settings.database_url),
                schema=SCHEMA,
                size=self.settings.db_pool_size,
                timeouts=self.settings.db_timeouts,
            )
            self._runs = RunWriter(self._pool)
            self._graph = LineageGraphReader(self._pool, budget=self.settings.lineage_timeout_seconds)

    @property
    def runs(self) -> RunWriter:
        assert self._runs is not None, "Container.open() was not awaited"
        return self._runs

    @property
    def graph(self) -> LineageGraphReader:
        assert self._graph is not None, "Container.open() was not awaited"
        return self._graph

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await super().close()


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load_settings(Settings, SERVICE)
    engine = start_process(SERVICE, SCHEMA, settings)
    return Container(settings=settings, engine=engine, uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork))
