"""Ports of the scheduler's use cases: the schedules repository behind the unit of work. Protocols only; Postgres
implements them in `adapters/db`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from headwater.scheduler.domain.schedules import (
    Claim,
    LeasedSchedule,
    ListedSchedule,
    Reconciliation,
    StoredSchedule,
)


class Schedules(Protocol):
    """Schedules with their row leases, and their firings recorded once per (schedule, due time)."""

    async def lock_all(self) -> dict[str, StoredSchedule]:
        """Every stored schedule, locked until the transaction ends (replicas reconcile one after another)."""
        ...

    async def apply(self, plan: Sequence[Reconciliation], now: datetime) -> None:
        """Write a reconciliation plan (an added schedule another replica added first is left as it is)."""
        ...

    async def lock_one(self, name: str) -> StoredSchedule | None:
        """One stored schedule, locked until the transaction ends; None when there is none."""
        ...

    async def make_due(self, name: str, now: datetime) -> bool:
        """Make the schedule due at `now`; False when a replica is firing it right now (a live lease)."""
        ...

    async def claim_due(self, *, owner: str, now: datetime, expires: datetime, limit: int) -> list[Claim]:
        """Lease up to `limit` due schedules nobody holds (or whose holder's lease expired) to `owner`."""
        ...

    async def lock_claim(self, claim: Claim, owner: str) -> LeasedSchedule | None:
        """Lock the schedule if `owner` still holds the lease for `claim.due_at`; None when it lost it."""
        ...

    async def record_firing(
        self, *, name: str, due_at: datetime, fired_at: datetime, owner: str, event_id: str
    ) -> bool:
        """Record the firing of `name` for `due_at`; False when it was recorded before."""
        ...

    async def advance(
        self, *, name: str, due_at: datetime, fired_at: datetime, next_due_at: datetime
    ) -> None:
        """Move the schedule on to its next due time and release the lease."""
        ...

    async def prune_firings(self, *, before: datetime, limit: int) -> int:
        """Delete up to `limit` firings recorded before `before`; how many."""
        ...

    async def list_all(self) -> list[ListedSchedule]: ...
