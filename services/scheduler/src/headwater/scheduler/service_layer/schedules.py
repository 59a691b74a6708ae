"""Use cases of the schedules: reconcile the configured system schedules, keep jobs' schedules from `job.changed`,
claim due schedules, fire a claim, make a job due now, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from headwater.common.errors import Conflict, NotFound
from headwater.common.events import JobChanged
from headwater.common.logging import get_logger
from headwater.scheduler.domain.schedules import (
    JOB_KINDS,
    Claim,
    Firing,
    InvalidSchedule,
    Kind,
    ListedSchedule,
    Reconciliation,
    ScheduleSpec,
    event_for,
    job_schedule,
    missed_slots,
    next_due,
    reconcile,
)
from headwater.scheduler.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

CONSUMER = "scheduler.job-changed"


class Rejected(msgspec.Struct, frozen=True):
    """A message the use case refused (by its index in the batch): it is dead-lettered with `reason`."""

    index: int
    reason: str


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


async def apply_job_changes(uow: UnitOfWork, events: Sequence[JobChanged], now: datetime) -> list[Rejected]:
    """Keep one schedule per job from its `job.changed` events, in one transaction with their inbox records (a
    redelivered event, or one older than the change applied, changes nothing); an event whose cron cannot work
    is rejected (dead-lettered) with the reason."""
    rejected: list[Rejected] = []
    async with uow:
        fresh = await uow.claim(CONSUMER, [str(e.event_id) for e in events])
        for index, event in enumerate(events):
            if str(event.event_id) not in fresh:
                continue
            stored = await uow.schedules.lock_one(event.job)
            try:
                step = job_schedule(event, stored, now)
            except InvalidSchedule as e:
                rejected.append(Rejected(index, str(e)))
                continue
            if step is None:
                continue
            await uow.schedules.apply([step], now)
            log.info(
                "job_schedule_changed",
                schedule=event.job,
                change=step.change.value,
                version=event.version,
                cron=step.values.get("cron"),
                next_due_at=step.values.get("next_due_at"),
            )
        await uow.commit()
    return rejected


async def run_job_now(uow: UnitOfWork, name: str, now: datetime) -> datetime:
    """Make a job's schedule due now (the schedule loop fires it within its poll interval, once); the due time.
    NotFound when the job has no schedule here (yet); Conflict when its schedule is disabled."""
    async with uow:
        stored = await uow.schedules.lock_one(name)
        if stored is None or stored.kind not in JOB_KINDS:
            raise NotFound(
                f"no job schedule {name!r}: a sensor's or a sync job's schedule appears once its cron is set"
            )
        if not stored.enabled:
            raise Conflict(f"the schedule of {name!r} is disabled")
        if not await uow.schedules.make_due(name, now):
            return stored.next_due_at  # firing right now
        await uow.commit()
    return now
