"""Watcher check routes (freshness, timeliness, queue monitor) and the schedule listing, served by the scheduler."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.scheduler import CheckQueued, QueueMonitorStatus, Schedule, TimelinessCheck
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
Scheduler = NamedDependency[SkipValidation[Upstream]]


class CheckRoutes(Controller):
    tags = ["Monitoring & Health"]

    @post(
        "/freshness",
        status_code=HTTP_200_OK,
        summary="Check freshness",
        description="Queue a freshness check of every pipeline (stale when its last DML is older than its "
        "freshness setting). Also runs on the scheduler's freshness schedule (hourly by default).",
    )
    async def freshness(
        self, request: AnyRequest, principal: Caller, scheduler: Scheduler
    ) -> Response[CheckQueued]:
        return await forward(scheduler, request, principal, body=b"")

    @post(
        "/timeliness",
        status_code=HTTP_200_OK,
        summary="Check timeliness",
        description="Queue a timeliness check of the executions started within `lookback_minutes` (at least 5, "
        "default 60; an empty body means the default). Also runs on the scheduler's timeliness schedule "
        "(every 15 minutes by default).",
    )
    async def timeliness(
        self,
        request: AnyRequest,
        principal: Caller,
        scheduler: Scheduler,
        data: JSONBody[TimelinessCheck | None] = None,
    ) -> Response[CheckQueued]:
        return await forward(scheduler, request, principal)

    @post(
        "/celery/monitor-queue",
        status_code=HTTP_200_OK,
        summary="Monitor the queue",
        description="Queue a check of pending work (consumer lag plus outbox backlog): WARNING from 50, "
        "CRITICAL from 100. Also runs on the scheduler's queue-monitor schedule (every 5 minutes by default).",
    )
    async def monitor_queue(
        self, request: AnyRequest, principal: Caller, scheduler: Scheduler
    ) -> Response[QueueMonitorStatus]:
        return await forward(scheduler, request, principal, body=b"")


class ScheduleRoutes(Controller):
    path = "/api/v1/schedules"
    tags = ["Schedules"]

    @get(
        "/",
        summary="List system schedules",
        description="The scheduler's system schedules: cron expression (UTC), whether enabled, when next due and "
        "when last fired.",
    )
    async def list_all(
        self, request: AnyRequest, principal: Caller, scheduler: Scheduler
    ) -> Response[list[Schedule]]:
        return await forward(scheduler, request, principal, path="/schedules")


ROUTES = [CheckRoutes, ScheduleRoutes]
