"""The `worker` process: Kafka subscribers, the outbox relay and the notifier, until SIGTERM."""

from __future__ import annotations

import asyncio

from headwater.common import worker
from headwater.common.db.engine import to_asyncpg_dsn
from headwater.quality_alerting import SCHEMA, SERVICE
from headwater.quality_alerting.bootstrap import bootstrap
from headwater.quality_alerting.entrypoints.messaging.notifier import Notifier
from headwater.quality_alerting.entrypoints.messaging.subscribers import register_subscribers


async def run_worker() -> None:
    container = bootstrap()
    settings = container.settings
    notifier = Notifier.from_settings(settings, container.uow_factory, to_asyncpg_dsn(settings.database_url))

    async def notify(stop: asyncio.Event) -> None:
        await notifier.run()

    async def stop_notifying(task: asyncio.Task[None]) -> None:
        # the round in flight may record its outcomes; a slower receiver's round is rolled back and resent later
        await notifier.stop(task, grace=settings.notification_timeout_seconds + 2)

    await worker.run(
        worker.Worker(
            SERVICE,
            SCHEMA,
            container,
            subscribers=register_subscribers,
            background=[worker.Background("notifier", notify, stop_notifying)],
        )
    )
