"""Test doubles of the scheduler: an in-memory unit of work whose schedules repository follows the SQL it stands
in for (row leases, one firing per due time), and reading a real scheduler database back (plain asyncpg)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from headwater.common import testing
from headwater.common.events import ChecksRequested, JobRunRequested, RetentionRequested, decode_event
from headwater.common.records import project
from headwater.scheduler.bootstrap import Container
from headwater.scheduler.domain.schedules import (
    Change,
    Claim,
    Kind,
    LeasedSchedule,
    ListedSchedule,
    Reconciliation,
    StoredSchedule,
)


@dataclass
class ScheduleRow:
    """A row of `schedule`."""

    name: str
    kind: str
    cron: str
    params: dict[str, int]
    enabled: bool
    next_due_at: datetime
    last_due_at: datetime | None = None
    last_fired_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class FiringRow:
    schedule_name: str
    due_at: datetime
    fired_at: datetime
    fired_by: str
    event_id: str


class FakeSchedules:
    def __init__(self) -> None:
        self.rows: dict[str, ScheduleRow] = {}
        self.firings: dict[tuple[str, datetime], FiringRow] = {}

    async def lock_all(self) -> dict[str, StoredSchedule]:
        return {
            r.name: StoredSchedule(r.name, r.kind, r.cron, r.params, r.enabled, r.next_due_at)
            for r in self.rows.values()
        }

    async def apply(self, plan: Sequence[Reconciliation], now: datetime) -> None:
        for step in plan:
            values: dict[str, Any] = dict(step.values)
            if step.release_lease:
                values |= {"lease_owner": None, "lease_expires_at": None}
            if step.change is Change.ADDED:
                self.rows.setdefault(step.name, ScheduleRow(name=step.name, **values))
            elif (row := self.rows.get(step.name)) is not None:
                for column, value in values.items():
                    setattr(row, column, value)

    async def lock_one(self, name: str) -> StoredSchedule | None:
        r = self.rows.get(name)
        return (
            None if r is None else StoredSchedule(r.name, r.kind, r.cron, r.params, r.enabled, r.next_due_at)
        )

    async def make_due(self, name: str, now: datetime) -> bool:
        r = self.rows.get(name)
        if r is None or (r.lease_expires_at is not None and r.lease_expires_at > now):
            return False
        r.next_due_at, r.lease_owner, r.lease_expires_at = now, None, None
        return True

    async def claim_due(self, *, owner: str, now: datetime, expires: datetime, limit: int) -> list[Claim]:
        due = sorted(
            (
                r
                for r in self.rows.values()
                if r.enabled
                and r.next_due_at <= now
                and (r.lease_expires_at is None or r.lease_expires_at <= now)
            ),
            key=lambda r: (r.next_due_at, r.name),
        )[:limit]
        claims: list[Claim] = []
        for r in due:
            claims.append(Claim(r.name, Kind(r.kind), r.cron, r.params, r.next_due_at, r.lease_owner))
            r.lease_owner, r.lease_expires_at = owner, expires
        return claims

    async def lock_claim(self, claim: Claim, owner: str) -> LeasedSchedule | None:
        r = self.rows.get(claim.name)
        if r is None or r.lease_owner != owner or r.next_due_at != claim.due_at or not r.enabled:
            return None
        return LeasedSchedule(kind=Kind(r.kind), cron=r.cron, params=r.params)

    async def record_firing(
        self, *, name: str, due_at: datetime, fired_at: datetime, owner: str, event_id: str
    ) -> bool:
        if (name, due_at) in self.firings:
            return False
        self.firings[(name, due_at)] = FiringRow(name, due_at, fired_at, owner, event_id)
        return True

    async def advance(
        self, *, name: str, due_at: datetime, fired_at: datetime, next_due_at: datetime
    ) -> None:
        r = self.rows[name]
        r.next_due_at, r.last_due_at, r.last_fired_at = next_due_at, due_at, fired_at
        r.lease_owner = r.lease_expires_at = None

    async def prune_firings(self, *, before: datetime, limit: int) -> int:
        old = sorted((f for f in self.firings.values() if f.fired_at < before), key=lambda f: f.fired_at)[
            :limit
        ]
        for f in old:
            del self.firings[(f.schedule_name, f.due_at)]
        return len(old)

    async def list_all(self) -> list[ListedSchedule]:
        return [project(ListedSchedule, r) for r in sorted(self.rows.values(), key=lambda r: r.name)]


class FakeUnitOfWork(testing.FakeUnitOfWork):
    """The scheduler's unit of work in memory: the schedules and their firings."""

    schedules: FakeSchedules

    def bind(self) -> None:
        self.schedules = FakeSchedules()


Requested = ChecksRequested | RetentionRequested | JobRunRequested
NewDatabase = Callable[[], Awaitable[str]]  # the `new_database` fixture: a fresh migrated database's DSN
NewContainer = Callable[..., Awaitable[Container]]  # the `new_container` fixture: (dsn, clock, **settings)


async def fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def firings(dsn: str) -> list[asyncpg.Record]:
    return await fetch(
        dsn,
        "SELECT schedule_name, due_at, fired_at, fired_by, event_id FROM scheduler.schedule_firing "
        "ORDER BY schedule_name, due_at",
    )


async def outbox_events(dsn: str) -> list[Requested]:
    rows = await fetch(dsn, "SELECT payload FROM scheduler.outbox ORDER BY id")
    return [decode_event(r["payload"], Requested) for r in rows]


async def schedule_rows(dsn: str) -> dict[str, asyncpg.Record]:
    rows = await fetch(dsn, "SELECT * FROM scheduler.schedule ORDER BY name")
    return {r["name"]: r for r in rows}


async def pending(dsn: str, now: datetime) -> int:
    """Enabled schedules due by `now` or still leased: 0 once every replica has caught up with the clock."""
    rows = await fetch(
        dsn,
        "SELECT count(*) AS n FROM scheduler.schedule "
        "WHERE enabled AND (next_due_at <= $1 OR lease_owner IS NOT NULL)",
        now,
    )
    return int(rows[0]["n"])
