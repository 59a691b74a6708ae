"""The composition root: settings, logging, telemetry, engine, unit-of-work factory, clock and the validated
system schedules, built on demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db import create_engine
from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.logging import configure_logging
from headwater.common.settings import load_settings
from headwater.common.telemetry import configure_telemetry
from headwater.scheduler import SCHEMA, SERVICE
from headwater.scheduler.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.scheduler.clock import Clock, system_clock
from headwater.scheduler.domain.schedules import ScheduleSpec, system_schedules
from headwater.scheduler.settings import Settings


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    schedules: list[ScheduleSpec] = field(default_factory=list[ScheduleSpec])
    clock: Clock = system_clock

    async def open(self) -> None:
        """Open what needs a running event loop (nothing yet beyond the lazily connecting engine)."""

    async def close(self) -> None:
        await self.engine.dispose()


def load(environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(Settings, SERVICE, environ)


def bootstrap(settings: Settings | None = None, *, clock: Clock = system_clock) -> Container:
    """Build the container; raises InvalidSchedule (naming the setting) when a schedule setting is wrong."""
    settings = settings or load()
    schedules = system_schedules(settings)
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    configure_telemetry(
        SERVICE, otlp_endpoint=settings.otel_exporter_otlp_endpoint, environment=settings.environment
    )
    engine = create_engine(settings.database_url, schema=SCHEMA, pool_size=settings.db_pool_size)
    return Container(
        settings=settings,
        engine=engine,
        uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork),
        schedules=schedules,
        clock=clock,
    )
