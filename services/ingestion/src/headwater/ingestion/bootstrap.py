"""The composition root: settings, logging, telemetry, engine and the unit-of-work factory, built on demand."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.service import ServiceContainer, start_process
from headwater.common.settings import load_settings
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.ingestion.settings import Settings


@dataclass
class Container(ServiceContainer):
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory[SqlUnitOfWork]


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load_settings(Settings, SERVICE)
    engine = start_process(SERVICE, SCHEMA, settings)
    return Container(settings=settings, engine=engine, uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork))
