"""The composition root: settings, logging, telemetry, engine, unit-of-work factory, clock and the validated
system schedules, built on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.service import ServiceContainer, start_process
from headwater.common.settings import load_settings
from headwater.scheduler import SCHEMA, SERVICE
from headwater.scheduler.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.scheduler.clock import Clock, system_clock
from headwater.scheduler.domain.schedules import ScheduleSpec, system_schedules
from headwater.scheduler.settings import Settings


@dataclass
class Container(ServiceContainer):
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory[SqlUnitOfWork]
    schedules: list[ScheduleSpec] = field(default_factory=list[ScheduleSpec])
    clock: Clock = system_clock


def bootstrap(settings: Settings | None = None, *, clock: Clock = system_clock) -> Container:
    """Build the container; raises InvalidSchedule (naming the setting) when a schedule setting is wrong."""
    settings = settings or load_settings(Settings, SERVICE)
    schedules = system_schedules(settings)
    engine = start_process(SERVICE, SCHEMA, settings)
    return Container(
        settings=settings,
        engine=engine,
        uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork),
        schedules=schedules,
        clock=clock,
    )
