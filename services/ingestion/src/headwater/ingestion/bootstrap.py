"""The composition root: settings, logging, telemetry, engine and the unit-of-work factory, built on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.service import ServiceContainer, start_process
from headwater.common.settings import load_settings
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.ingestion.adapters.warehouse.pools import WarehousePools
from headwater.ingestion.settings import Settings


@dataclass
class Container(ServiceContainer):
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory[SqlUnitOfWork]
    # The destinations' connection pools, opened on first use.
    warehouses: WarehousePools = field(default_factory=WarehousePools)

    async def close(self) -> None:
        await self.warehouses.close()
        await super().close()


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load_settings(Settings, SERVICE)
    engine = start_process(SERVICE, SCHEMA, settings)
    return Container(settings=settings, engine=engine, uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork))
