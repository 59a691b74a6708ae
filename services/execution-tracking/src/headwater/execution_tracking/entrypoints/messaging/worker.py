"""The `worker` process: Kafka subscribers and the outbox relay, until SIGTERM."""

from __future__ import annotations

from headwater.common import worker
from headwater.execution_tracking import SCHEMA, SERVICE
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.messaging.subscribers import register_subscribers


async def run_worker() -> None:
    container = bootstrap()
    settings = container.settings
    await worker.run(
        worker.Worker(
            service=SERVICE,
            schema=SCHEMA,
            settings=settings,
            register=lambda broker, producer: register_subscribers(
                broker, settings=settings, uow_factory=container.uow_factory, producer=producer
            ),
            close=container.close,
        )
    )
