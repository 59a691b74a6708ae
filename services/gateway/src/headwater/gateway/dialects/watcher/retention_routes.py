"""Watcher `POST /log_cleanup`: every service that holds old data deletes its own; the counts are summed."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.params import JSONBody

from headwater.common.contracts.paths import ExecutionTrackingPaths, QualityAlertingPaths
from headwater.common.contracts.watcher import LogCleanup, LogCleanupCounts
from headwater.gateway.dialects.deps import Caller, Service


class LogCleanupRoutes(Controller):
    tags = ["Monitoring & Health"]

    @post(
        "/log_cleanup",
        summary="Log cleanup",
        description="Deletes data older than `retention_days` (at least 90) in batches of `batch_size`, children "
        "before parents, each batch committed, in every service that holds some (execution-tracking: executions "
        "and their closure rows; quality-alerting: anomaly results, freshness and timeliness logs, metric copies, "
        "resolved alerts). Answers the six documented counts, summed across services.",
        status_code=200,
    )
    async def log_cleanup(
        self,
        data: JSONBody[LogCleanup],
        principal: Caller,
        execution_tracking: Service,
        quality_alerting: Service,
    ) -> Response[Any]:
        body = msgspec.json.encode(data)
        answers = await asyncio.gather(
            *(
                service.call("POST", path, body=body, principal=principal)
                for service, path in (
                    (execution_tracking, ExecutionTrackingPaths.LOG_CLEANUP),
                    (quality_alerting, QualityAlertingPaths.LOG_CLEANUP),
                )
            )
        )
        for answer in answers:
            if answer.status != 200:
                return Response(
                    content=answer.body, status_code=answer.status, media_type=answer.content_type
                )
        total = LogCleanupCounts()
        for answer in answers:
            counts = msgspec.json.decode(answer.body, type=LogCleanupCounts)
            for field in LogCleanupCounts.__struct_fields__:
                setattr(total, field, getattr(total, field) + getattr(counts, field))
        return Response(total, status_code=200)


ROUTES = [LogCleanupRoutes]
