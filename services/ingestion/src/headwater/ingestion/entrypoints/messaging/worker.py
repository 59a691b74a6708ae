"""The `worker` process: the `file.stored`, `ingress.files` and `job.run.requested` subscribers, the sync runner
and the outbox relay, until SIGTERM."""

from __future__ import annotations

from datetime import timedelta

from headwater.common import worker
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.bootstrap import bootstrap
from headwater.ingestion.entrypoints.messaging.subscribers import subscribers_of
from headwater.ingestion.entrypoints.sync_runner import SyncRunner


async def run_worker() -> None:
    container = bootstrap()
    settings = container.settings
    subscribers = subscribers_of(container.store, container.warehouses, container.buckets)
    runner = SyncRunner(
        container.uow_factory,
        container.box,
        container.connectors,
        slots=settings.sync_slots,
        parallel_streams=settings.sync_parallel_streams,
        lease=timedelta(seconds=settings.sync_lease_seconds),
    )
    background = [worker.Background("sync-runner", runner.run)]
    await worker.run(
        worker.Worker(SERVICE, SCHEMA, container, subscribers=subscribers, background=background)
    )
