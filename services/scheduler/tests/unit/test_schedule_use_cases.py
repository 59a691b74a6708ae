"""The schedule use cases on the in-memory unit of work: reconcile, claim with a lease, fire each due time once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater.common.events import ChecksRequested, RetentionRequested
from headwater.scheduler.domain.schedules import Kind, ScheduleSpec
from headwater.scheduler.service_layer.schedules import (
    claim_due_schedules,
    fire_claim,
    list_schedules,
    reconcile_schedules,
)
from headwater.scheduler.testing import FakeUnitOfWork

NOW = datetime(2031, 5, 6, 7, 0, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)
FRESHNESS = ScheduleSpec("freshness", Kind.FRESHNESS, "*/5 * * * *")
RETENTION = ScheduleSpec(
    "retention", Kind.RETENTION, "0 3 * * *", params={"retention_days": 90, "batch_size": 10}
)


async def test_a_due_schedule_fires_once_and_moves_to_its_next_due_time() -> None:
    uow = FakeUnitOfWork()
    await reconcile_schedules(uow, [FRESHNESS, RETENTION], NOW)
    [listed_freshness, _] = await list_schedules(uow)
    assert listed_freshness.next_due_at == datetime(2031, 5, 6, 7, 5, tzinfo=UTC)

    later = NOW + timedelta(minutes=5)
    [claim] = await claim_due_schedules(uow, owner="a", now=later, lease=LEASE, limit=10)
    assert (claim.name, claim.due_at, claim.previous_owner) == (
        "freshness",
        listed_freshness.next_due_at,
        None,
    )
    assert await claim_due_schedules(uow, owner="b", now=later, lease=LEASE, limit=10) == []  # leased to a

    firing = await fire_claim(uow, claim, owner="a", now=later)
    assert firing is not None
    assert (firing.kind, firing.due_at, firing.next_due_at) == (
        Kind.FRESHNESS,
        claim.due_at,
        datetime(2031, 5, 6, 7, 10, tzinfo=UTC),
    )
    [event] = uow.committed_events
    assert isinstance(event, ChecksRequested)
    assert (event.check, str(event.event_id)) == ("freshness", firing.event_id)
    assert await fire_claim(uow, claim, owner="a", now=later) is None  # the lease went with the firing
    assert len(uow.committed_events) == 1


async def test_an_expired_lease_is_taken_over_and_retention_prunes_old_firings() -> None:
    uow = FakeUnitOfWork()
    await reconcile_schedules(uow, [RETENTION], NOW)
    due = datetime(2031, 5, 7, 3, tzinfo=UTC)
    [lost] = await claim_due_schedules(uow, owner="dead", now=due, lease=LEASE, limit=10)
    [taken] = await claim_due_schedules(uow, owner="alive", now=due + LEASE, lease=LEASE, limit=10)
    assert taken.previous_owner == "dead"
    assert await fire_claim(uow, lost, owner="dead", now=due + LEASE) is None
    assert await fire_claim(uow, taken, owner="alive", now=due + LEASE) is not None
    [event] = uow.committed_events
    assert isinstance(event, RetentionRequested)
    assert (event.retention_days, event.batch_size) == (90, 10)
