"""The worker's sync runner: a few slots, each claiming the next queued sync run (or one whose worker died) and
carrying it out, until SIGTERM. On stop a slot finishes nothing new; a run in hand is left to its lease, and
the next worker to claim it resumes it from its streams' saved states."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from headwater.common.logging import get_logger
from headwater.ingestion.service_layer import syncs
from headwater.ingestion.service_layer.ports import Connectors, Sealer
from headwater.ingestion.service_layer.unit_of_work import UnitOfWorkFactory

log = get_logger(__name__)


class SyncRunner:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        box: Sealer,
        connectors: Connectors,
        *,
        slots: int = 2,
        parallel_streams: int = 2,
        lease: timedelta = timedelta(seconds=30),
        poll_seconds: float = 1.0,
    ) -> None:
        self._uow_factory = uow_factory
        self._box = box
        self._connectors = connectors
        self._slots = max(1, slots)
        self._parallel_streams = parallel_streams
        self._lease = lease
        self._poll = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            for slot in range(self._slots):
                group.create_task(self._slot(slot, stop), name=f"sync-slot-{slot}")

    async def _slot(self, slot: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                run = await syncs.run_next(
                    self._uow_factory,
                    self._box,
                    self._connectors,
                    lease=self._lease,
                    parallel_streams=self._parallel_streams,
                )
            except Exception:  # the database away: try again after a pause, never end the slot
                log.exception("sync_runner_failed", slot=slot)
                run = None
            if run is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll)
