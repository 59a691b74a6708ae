"""The `worker` process: the `job.changed` subscriber, the schedule loop and the outbox relay, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from headwater.common import worker
from headwater.scheduler import SCHEMA, SERVICE
from headwater.scheduler.bootstrap import bootstrap
from headwater.scheduler.entrypoints.messaging.subscribers import subscribers_of
from headwater.scheduler.entrypoints.schedule_loop import ScheduleLoop


async def run_worker() -> None:
    container = bootstrap()
    settings = container.settings
    background: list[worker.Background] = []
    if settings.schedule_loop_enabled:
        schedule_loop = ScheduleLoop(
            container.uow_factory,
            schedules=container.schedules,
            clock=container.clock,
            lease=timedelta(seconds=settings.schedule_lease_seconds),
            poll_seconds=settings.schedule_poll_seconds,
            claim_batch=settings.schedule_claim_batch,
        )

        async def finish_firing(task: asyncio.Task[None]) -> None:
            # the loop sees `stop` and finishes the firing in hand; a hung database must not block shutdown
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 10)

        background.append(worker.Background("schedule-loop", schedule_loop.run, finish_firing))
    await worker.run(
        worker.Worker(
            SERVICE, SCHEMA, container, subscribers=subscribers_of(container.clock), background=background
        )
    )
