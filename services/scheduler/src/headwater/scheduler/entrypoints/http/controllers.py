"""Controllers of the internal API: translate a request into one use case call and its result back."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import SchedulerPaths
from headwater.common.contracts.scheduler import (
    DEFAULT_LOOKBACK_MINUTES,
    CheckQueued,
    QueueMonitorStatus,
    Schedule,
    ScheduleDue,
    TimelinessCheck,
)
from headwater.scheduler.clock import Clock
from headwater.scheduler.domain.schedules import Kind
from headwater.scheduler.service_layer import checks, schedules
from headwater.scheduler.service_layer.unit_of_work import UnitOfWorkFactory

UowFactory = NamedDependency[SkipValidation[UnitOfWorkFactory]]
ClockDep = NamedDependency[SkipValidation[Clock]]


class CheckController(Controller):
    """The Watcher check endpoints (spec 000, Monitoring & Health): each queues a check and answers 200."""

    tags = ["checks"]

    @post(SchedulerPaths.FRESHNESS, status_code=HTTP_200_OK)
    async def freshness(self, uow_factory: UowFactory) -> CheckQueued:
        await checks.request_check(uow_factory(), Kind.FRESHNESS)
        return CheckQueued()

    @post(SchedulerPaths.TIMELINESS, status_code=HTTP_200_OK)
    async def timeliness(
        self, uow_factory: UowFactory, data: JSONBody[TimelinessCheck | None] = None
    ) -> CheckQueued:
        # an empty body means the documented default lookback
        lookback = data.lookback_minutes if data is not None else DEFAULT_LOOKBACK_MINUTES
        await checks.request_check(uow_factory(), Kind.TIMELINESS, lookback_minutes=lookback)
        return CheckQueued()

    @post(SchedulerPaths.MONITOR_QUEUE, status_code=HTTP_200_OK)
    async def monitor_queue(self, uow_factory: UowFactory) -> QueueMonitorStatus:
        await checks.request_check(uow_factory(), Kind.QUEUE)
        return QueueMonitorStatus()


class ScheduleController(Controller):
    tags = ["schedules"]

    @get(SchedulerPaths.SCHEDULES)
    async def list_all(self, uow_factory: UowFactory) -> list[Schedule]:
        return [Schedule(**msgspec.structs.asdict(s)) for s in await schedules.list_schedules(uow_factory())]

    @post(SchedulerPaths.RUN_SCHEDULE_NOW, status_code=HTTP_200_OK)
    async def run_now(self, name: FromPath[str], uow_factory: UowFactory, clock: ClockDep) -> ScheduleDue:
        """Make a job's schedule due now (Qluster's Run Sensor Cronjob Now): the loop fires it, once."""
        due_at = await schedules.run_job_now(uow_factory(), name, clock())
        return ScheduleDue(name=name, due_at=due_at)


CONTROLLERS: list[Any] = [CheckController, ScheduleController]
