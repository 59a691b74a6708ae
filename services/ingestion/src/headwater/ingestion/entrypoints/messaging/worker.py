"""The `worker` process: the `file.stored`, `ingress.files` and `job.run.requested` subscribers and the outbox
relay, until SIGTERM."""

from __future__ import annotations

from headwater.common import worker
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.bootstrap import bootstrap
from headwater.ingestion.entrypoints.messaging.subscribers import subscribers_of


async def run_worker() -> None:
    container = bootstrap()
    subscribers = subscribers_of(container.store, container.warehouses, container.buckets)
    await worker.run(worker.Worker(SERVICE, SCHEMA, container, subscribers=subscribers))
