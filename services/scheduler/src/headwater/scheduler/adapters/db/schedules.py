"""Schedules in Postgres: reconciliation writes, row leases claimed with `SKIP LOCKED`, firings recorded once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.scheduler.adapters.db.tables import schedule, schedule_firing
from headwater.scheduler.domain.schedules import (
    Change,
    Claim,
    Kind,
    LeasedSchedule,
    ListedSchedule,
    Reconciliation,
    StoredSchedule,
)

_CLAIM = text(
    """
    WITH due AS (
        SELECT name, lease_owner AS previous_owner
        FROM schedule
        WHERE enabled
          AND next_due_at <= :now
          AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
        ORDER BY next_due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE schedule AS s
    SET lease_owner = :owner, lease_expires_at = :expires
    FROM due
    WHERE s.name = due.name
    RETURNING s.name, s.kind, s.cron, s.params, s.next_due_at, due.previous_owner
    """
)


class Schedules(Repository):
    """Schedules with their row leases (claimed with `SKIP LOCKED`) and their firings, recorded once."""

    async def lock_all(self) -> dict[str, StoredSchedule]:
        """Every stored schedule, locked until the transaction ends (replicas reconcile one after another)."""
        rows = await self.conn.execute(
            select(
                schedule.c.name,
                schedule.c.kind,
                schedule.c.cron,
                schedule.c.params,
                schedule.c.enabled,
                schedule.c.next_due_at,
            ).with_for_update()
        )
        return {
            r.name: StoredSchedule(r.name, r.kind, r.cron, r.params, r.enabled, r.next_due_at) for r in rows
        }

    async def apply(self, plan: Sequence[Reconciliation], now: datetime) -> None:
        for step in plan:
            values: dict[str, Any] = dict(step.values)
            if step.release_lease:
                values |= {"lease_owner": None, "lease_expires_at": None}
            if step.change is Change.REMOVED:
                await self.conn.execute(delete(schedule).where(schedule.c.name == step.name))
            elif step.change is Change.ADDED:
                # another replica may be adding the same schedule right now: the first one wins, same config
                await self.conn.execute(
                    pg_insert(schedule)
                    .values(name=step.name, **values)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
            else:
                await self.conn.execute(
                    update(schedule).where(schedule.c.name == step.name).values(**values, updated_at=now)
                )

    async def lock_one(self, name: str) -> StoredSchedule | None:
        """One stored schedule, locked until the transaction ends; None when there is none."""
        row = (
            await self.conn.execute(
                select(
                    schedule.c.name,
                    schedule.c.kind,
                    schedule.c.cron,
                    schedule.c.params,
                    schedule.c.enabled,
                    schedule.c.next_due_at,
                )
                .where(schedule.c.name == name)
                .with_for_update()
            )
        ).first()
        return (
            None
            if row is None
            else StoredSchedule(row.name, row.kind, row.cron, row.params, row.enabled, row.next_due_at)
        )

    async def make_due(self, name: str, now: datetime) -> bool:
        """Bring the schedule's next due time forward to `now` unless a replica holds a live lease on it (it is
        firing right now); False in that case."""
        result = await self.conn.execute(
            update(schedule)
            .where(
                schedule.c.name == name,
                (schedule.c.lease_expires_at.is_(None)) | (schedule.c.lease_expires_at <= now),
            )
            .values(next_due_at=now, lease_owner=None, lease_expires_at=None, updated_at=now)
        )
        return bool(result.rowcount)

    async def claim_due(self, *, owner: str, now: datetime, expires: datetime, limit: int) -> list[Claim]:
        """Lease up to `limit` due schedules nobody holds (or whose holder's lease expired) to `owner`.

        `SKIP LOCKED` lets replicas claim side by side without waiting on each other's rows.
        """
        rows = await self.conn.execute(
            _CLAIM, {"now": now, "owner": owner, "expires": expires, "limit": limit}
        )
        return [
            Claim(r.name, Kind(r.kind), r.cron, r.params, r.next_due_at, r.previous_owner)
            for r in sorted(rows, key=lambda r: (r.next_due_at, r.name))
        ]

    async def lock_claim(self, claim: Claim, owner: str) -> LeasedSchedule | None:
        """Lock the schedule row if `owner` still holds the lease for `claim.due_at`; None when it lost it.

        The lease may have expired and been taken over (the row now names another owner or has moved on to its
        next due time), or reconciliation may have rescheduled it.
        """
        row = (
            await self.conn.execute(
                select(schedule.c.kind, schedule.c.cron, schedule.c.params)
                .where(
                    schedule.c.name == claim.name,
                    schedule.c.lease_owner == owner,
                    schedule.c.next_due_at == claim.due_at,
                    schedule.c.enabled,
                )
                .with_for_update()
            )
        ).first()
        return None if row is None else LeasedSchedule(kind=Kind(row.kind), cron=row.cron, params=row.params)

    async def record_firing(
        self, *, name: str, due_at: datetime, fired_at: datetime, owner: str, event_id: str
    ) -> bool:
        """Record the firing of `name` for `due_at`; False when it was recorded before (then publish nothing)."""
        inserted = await self.conn.execute(
            pg_insert(schedule_firing)
            .values(schedule_name=name, due_at=due_at, fired_at=fired_at, fired_by=owner, event_id=event_id)
            .on_conflict_do_nothing(index_elements=["schedule_name", "due_at"])
            .returning(schedule_firing.c.id)
        )
        return inserted.first() is not None

    async def advance(
        self, *, name: str, due_at: datetime, fired_at: datetime, next_due_at: datetime
    ) -> None:
        """Move the schedule on to its next due time and release the lease."""
        await self.conn.execute(
            update(schedule)
            .where(schedule.c.name == name)
            .values(
                next_due_at=next_due_at,
                last_due_at=due_at,
                last_fired_at=fired_at,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    async def prune_firings(self, *, before: datetime, limit: int) -> int:
        """Delete up to `limit` firings recorded before `before` (the scheduler's own retention)."""
        result = await self.conn.execute(
            text(
                "DELETE FROM schedule_firing WHERE id IN "
                "(SELECT id FROM schedule_firing WHERE fired_at < :before ORDER BY id LIMIT :limit)"
            ),
            {"before": before, "limit": limit},
        )
        return result.rowcount or 0

    async def list_all(self) -> list[ListedSchedule]:
        rows = await self.conn.execute(
            select(
                schedule.c.name,
                schedule.c.cron,
                schedule.c.enabled,
                schedule.c.next_due_at,
                schedule.c.last_fired_at,
            ).order_by(schedule.c.name)
        )
        return [ListedSchedule(**row) for row in rows.mappings()]
