"""Watcher check routes (freshness, timeliness, queue monitor) and the schedule listing, served by the scheduler."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import SchedulerPaths
from headwater.common.contracts.scheduler import CheckQueued, QueueMonitorStatus, Schedule, TimelinessCheck
from headwater.gateway.dialects.deps import ToScheduler


class CheckRoutes(Controller):
    tags = ["Monitoring & Health"]

    @post(
        SchedulerPaths.FRESHNESS,
        status_code=HTTP_200_OK,
        summary="Check freshness",
        description="Queue a freshness check of every pipeline (stale when its last DML is older than its "
        "freshness setting). Also runs on the scheduler's freshness schedule (hourly by default).",
    )
    async def freshness(self, to_scheduler: ToScheduler) -> Response[CheckQueued]:
        return await to_scheduler(body=b"")

    @post(
        SchedulerPaths.TIMELINESS,
        status_code=HTTP_200_OK,
        summary="Check timeliness",
        description="Queue a timeliness check of the executions started within `lookback_minutes` (at least 5, "
        "default 60; an empty body means the default). Also runs on the scheduler's timeliness schedule "
        "(every 15 minutes by default).",
    )
    async def timeliness(
        self, to_scheduler: ToScheduler, data: JSONBody[TimelinessCheck | None] = None
    ) -> Response[CheckQueued]:
        return await to_scheduler()

    @post(
        SchedulerPaths.MONITOR_QUEUE,
        status_code=HTTP_200_OK,
        summary="Monitor the queue",
        description="Queue a check of pending work (consumer lag plus outbox backlog): WARNING from 50, "
        "CRITICAL from 100. Also runs on the scheduler's queue-monitor schedule (every 5 minutes by default).",
    )
    async def monitor_queue(self, to_scheduler: ToScheduler) -> Response[QueueMonitorStatus]:
        return await to_scheduler(body=b"")


class ScheduleRoutes(Controller):
    path = "/api/v1/schedules"
    tags = ["Schedules"]

    @get(
        "/",
        summary="List system schedules",
        description="The scheduler's system schedules: cron expression (UTC), whether enabled, when next due and "
        "when last fired.",
    )
    async def list_all(self, to_scheduler: ToScheduler) -> Response[list[Schedule]]:
        return await to_scheduler(path=SchedulerPaths.SCHEDULES)


ROUTES = [CheckRoutes, ScheduleRoutes]
