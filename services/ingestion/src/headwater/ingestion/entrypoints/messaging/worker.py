"""The `worker` process: the outbox relay (and the inbox purge), until SIGTERM."""

from __future__ import annotations

from headwater.common import worker
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.bootstrap import bootstrap


async def run_worker() -> None:
    # No subscriber yet: the worker relays the events the HTTP side wrote to the outbox.
    await worker.run(worker.Worker(SERVICE, SCHEMA, bootstrap()))
