"""The worker's schedule loop: reconciles the configured schedules, then claims and fires due ones, each once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta

from prometheus_client import Counter, Histogram

from headwater.common.logging import get_logger
from headwater.scheduler.clock import Clock
from headwater.scheduler.domain.schedules import Firing, ScheduleSpec
from headwater.scheduler.service_layer.schedules import (
    claim_due_schedules,
    fire_claim,
    reconcile_schedules,
)
from headwater.scheduler.service_layer.unit_of_work import UnitOfWorkFactory

log = get_logger(__name__)

FIRINGS = Counter("headwater_scheduler_firings_total", "Firings of system schedules", ["schedule"])
FIRING_LAG = Histogram(
    "headwater_scheduler_firing_lag_seconds",
    "Delay from a schedule's due time to its firing (large after downtime or a lease takeover)",
    ["schedule"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 21600, 86400),
)
TAKEOVERS = Counter(
    "headwater_scheduler_lease_takeovers_total",
    "Expired leases of another replica (one that died mid-fire) taken over",
    ["schedule"],
)
LOOP_ERRORS = Counter("headwater_scheduler_loop_errors_total", "Rounds of the schedule loop that failed")


def replica_id() -> str:
    """This process's lease owner id: readable (host and pid) and unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ScheduleLoop:
    """Claims due schedules with a row lease and fires each claim in a transaction of its own.

    Any number of replicas may run this loop on the same database; each due trigger fires once.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        schedules: Sequence[ScheduleSpec],
        clock: Clock,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 1.0,
        claim_batch: int = 100,
    ) -> None:
        self.uow_factory = uow_factory
        self.schedules = list(schedules)
        self.clock = clock
        self.owner = owner or replica_id()
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.claim_batch = claim_batch

    async def reconcile(self) -> None:
        changes = await reconcile_schedules(self.uow_factory(), self.schedules, self.clock())
        for change in changes:
            log.info(
                "schedule_reconciled",
                schedule=change.name,
                change=change.change.value,
                cron=change.values.get("cron"),
                next_due_at=change.values.get("next_due_at"),
            )

    async def run_once(self) -> list[Firing]:
        """Fire every schedule due now that no live replica holds; the firings made."""
        claims = await claim_due_schedules(
            self.uow_factory(), owner=self.owner, now=self.clock(), lease=self.lease, limit=self.claim_batch
        )
        fired: list[Firing] = []
        for claim in claims:
            if claim.previous_owner is not None:
                TAKEOVERS.labels(claim.name).inc()
                log.warning(
                    "schedule_lease_taken_over",
                    schedule=claim.name,
                    due_at=claim.due_at,
                    previous_owner=claim.previous_owner,
                    owner=self.owner,
                )
            firing = await fire_claim(self.uow_factory(), claim, owner=self.owner, now=self.clock())
            if firing is None:
                log.warning("schedule_lease_lost", schedule=claim.name, due_at=claim.due_at, owner=self.owner)
                continue
            lag = (firing.fired_at - firing.due_at).total_seconds()
            FIRINGS.labels(firing.name).inc()
            FIRING_LAG.labels(firing.name).observe(max(lag, 0.0))
            log.info(
                "schedule_fired",
                schedule=firing.name,
                kind=firing.kind.value,
                due_at=firing.due_at,
                lag_seconds=round(lag, 3),
                missed=firing.missed,
                next_due_at=firing.next_due_at,
                event_id=firing.event_id,
                owner=self.owner,
            )
            fired.append(firing)
        return fired

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile (retrying until the database answers), then fire due schedules until `stop` is set."""
        reconciled = False
        while not stop.is_set():
            try:
                if not reconciled:
                    await self.reconcile()
                    reconciled = True
                    log.info("schedule_loop_started", owner=self.owner, schedules=len(self.schedules))
                await self.run_once()
            except Exception:
                # the database is away or a round failed: leases left behind expire and are taken over
                LOOP_ERRORS.inc()
                log.exception("schedule_loop_failed", owner=self.owner)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
