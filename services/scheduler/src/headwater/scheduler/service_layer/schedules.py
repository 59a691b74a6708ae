"""Use cases of the system schedules: reconcile the configuration, claim due schedules, fire a claim, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from headwater.scheduler.domain.schedules import (
    Claim,
    Firing,
    Kind,
    ListedSchedule,
    Reconciliation,
    ScheduleSpec,
    event_for,
    missed_slots,
    next_due,
    reconcile,
)
from headwater.scheduler.service_layer.unit_of_work import UnitOfWork


async def reconcile_schedules(
    uow: UnitOfWork, wanted: Sequence[ScheduleSpec], now: datetime
) -> list[Reconciliation]:
    """Make the `schedule` table match the configured schedules; the changes made (for the log)."""
    async with uow:
        stored = await uow.schedules.lock_all()
        plan = reconcile(stored, list(wanted), now)
        await uow.schedules.apply(plan, now)
        await uow.commit()
    return plan


async def claim_due_schedules(
    uow: UnitOfWork, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Claim]:
    """Lease the due schedules to `owner` until `now + lease`, in a transaction of their own.

    The lease is committed before firing, so a replica that dies mid-fire leaves it behind: nobody fires the
    schedule until the lease expires, then another replica takes it over.
    """
    async with uow:
        claims = await uow.schedules.claim_due(owner=owner, now=now, expires=now + lease, limit=limit)
        await uow.commit()
    return claims


async def fire_claim(uow: UnitOfWork, claim: Claim, *, owner: str, now: datetime) -> Firing | None:
    """Fire `claim` exactly once: record the firing, publish its event and move to the next due time.

    All three happen in one transaction, the event going through the outbox; None when the lease was lost
    meanwhile (taken over after expiry, or the schedule rescheduled), in which case nothing is written.
    """
    async with uow:
        leased = await uow.schedules.lock_claim(claim, owner)
        if leased is None:
            return None
        kind, params = leased.kind, leased.params
        event = event_for(claim.name, kind, params, claim.due_at)
        # missed slots after downtime fold into this one firing: the next due time is the first after now
        upcoming = next_due(leased.cron, max(now, claim.due_at))
        recorded = await uow.schedules.record_firing(
            name=claim.name,
            due_at=claim.due_at,
            fired_at=now,
            owner=owner,
            event_id=str(event.event_id),
        )
        if recorded:
            uow.publish(event)
            if kind is Kind.RETENTION:
                await uow.schedules.prune_firings(
                    before=claim.due_at - timedelta(days=params["retention_days"]),
                    limit=params["batch_size"],
                )
        await uow.schedules.advance(name=claim.name, due_at=claim.due_at, fired_at=now, next_due_at=upcoming)
        await uow.commit()
    if not recorded:
        return None
    return Firing(
        name=claim.name,
        kind=kind,
        due_at=claim.due_at,
        fired_at=now,
        event_id=str(event.event_id),
        next_due_at=upcoming,
        missed=missed_slots(leased.cron, claim.due_at, now),
    )


async def list_schedules(uow: UnitOfWork) -> list[ListedSchedule]:
    async with uow:
        return await uow.schedules.list_all()
