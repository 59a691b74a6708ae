"""The schedule loop on the real Postgres: two replicas fire each due trigger exactly once, a lease left by a
replica killed mid-fire is taken over after it expires, missed triggers fire once, reconciliation reschedules."""

from __future__ import annotations

import asyncio
import collections
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from headwater.common.events import ChecksRequested, RetentionRequested
from headwater.common.testing import eventually
from headwater.devstack.stack import Stack
from headwater.scheduler.bootstrap import Container
from headwater.scheduler.clock import ManualClock
from headwater.scheduler.domain.schedules import Kind, ScheduleSpec, next_due
from headwater.scheduler.entrypoints.schedule_loop import ScheduleLoop
from headwater.scheduler.service_layer.schedules import claim_due_schedules, fire_claim
from headwater.scheduler.testing import (
    NewContainer,
    NewDatabase,
    firings,
    outbox_events,
    pending,
    schedule_rows,
)

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SPECS = [
    ScheduleSpec("every_minute", Kind.FRESHNESS, "* * * * *"),
    ScheduleSpec("every_two_minutes", Kind.TIMELINESS, "*/2 * * * *", params={"lookback_minutes": 30}),
    ScheduleSpec("every_five_minutes", Kind.QUEUE, "*/5 * * * *"),
    ScheduleSpec(
        "every_seven_minutes", Kind.RETENTION, "*/7 * * * *", params={"retention_days": 90, "batch_size": 100}
    ),
]
EVERY_MINUTE = [SPECS[0]]


def slots(cron: str, start: datetime, end: datetime) -> list[datetime]:
    """Every due time of `cron` in (start, end]."""
    found: list[datetime] = []
    moment = next_due(cron, start)
    while moment <= end:
        found.append(moment)
        moment = next_due(cron, moment)
    return found


def replica(c: Container, clock: ManualClock, owner: str, specs: list[ScheduleSpec] = SPECS) -> ScheduleLoop:
    return ScheduleLoop(
        c.uow_factory,
        schedules=specs,
        clock=clock,
        owner=owner,
        lease=LEASE,
        poll_seconds=0.005,
    )


@dataclass
class Replicas:
    """A fresh scheduler database and a manual clock at T0: replicas on them each get a container of their own."""

    dsn: str
    clock: ManualClock
    new_container: NewContainer

    async def container(self, **settings: object) -> Container:
        return await self.new_container(self.dsn, self.clock, **settings)

    async def replica(self, owner: str, specs: list[ScheduleSpec] = SPECS) -> ScheduleLoop:
        return replica(await self.container(), self.clock, owner, specs)


@pytest.fixture
async def replicas(new_database: NewDatabase, new_container: NewContainer) -> Replicas:
    return Replicas(await new_database(), ManualClock(T0), new_container)


def takeovers(schedule: str) -> float:
    return (
        REGISTRY.get_sample_value("headwater_scheduler_lease_takeovers_total", {"schedule": schedule}) or 0.0
    )


async def assert_each_due_trigger_fired_once(dsn: str, end: datetime) -> list[str]:
    """Every slot of every schedule in (T0, end] fired exactly once, with exactly one outbox event each."""
    fired = await firings(dsn)
    by_schedule: dict[str, list[datetime]] = collections.defaultdict(list)
    for f in fired:
        by_schedule[f["schedule_name"]].append(f["due_at"])
    for spec in SPECS:
        assert by_schedule[spec.name] == slots(spec.cron, T0, end), spec.name
    events = await outbox_events(dsn)
    assert len(events) == len(fired)
    by_id = {str(e.event_id): e for e in events}
    assert len(by_id) == len(events)
    for f in fired:
        event = by_id[f["event_id"]]  # the event published in the firing's transaction
        assert event.schedule == f["schedule_name"]
        if isinstance(event, RetentionRequested):
            assert event.cutoff == f["due_at"] - timedelta(days=90)
            assert (event.retention_days, event.batch_size) == (90, 100)
        else:
            assert isinstance(event, ChecksRequested)
            assert event.due_at == f["due_at"]
            spec = next(s for s in SPECS if s.name == f["schedule_name"])
            assert event.check == spec.kind.value
            assert event.lookback_minutes == spec.params.get("lookback_minutes")
    return [f["fired_by"] for f in fired]


async def test_two_replicas_running_side_by_side_fire_each_due_trigger_exactly_once(
    replicas: Replicas,
) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    a, b = await replicas.replica("replica-a"), await replicas.replica("replica-b")
    await asyncio.gather(a.reconcile(), b.reconcile())  # both start at once with the same configuration
    stop = asyncio.Event()
    loops = [asyncio.create_task(a.run(stop)), asyncio.create_task(b.run(stop))]
    try:
        for minute in range(1, 121):
            now = clock.set(T0 + timedelta(minutes=minute))

            async def caught_up(now: datetime = now) -> None:
                assert await pending(dsn, now) == 0

            await eventually(caught_up, timeout=20, interval=0.005)
    finally:
        stop.set()
        await asyncio.gather(*loops)
    owners = await assert_each_due_trigger_fired_once(dsn, clock())
    count = collections.Counter(owners)
    assert sum(count.values()) == sum(len(slots(s.cron, T0, clock())) for s in SPECS) == 120 + 60 + 24 + 18
    assert set(count) == {"replica-a", "replica-b"}, f"both replicas should have fired some: {count}"


async def test_two_replicas_claiming_at_the_same_instant_fire_once(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    a, b = await replicas.replica("replica-a"), await replicas.replica("replica-b")
    await asyncio.gather(a.reconcile(), b.reconcile())
    for minute in range(1, 61):
        now = clock.set(T0 + timedelta(minutes=minute))
        fired_a, fired_b = await asyncio.gather(a.run_once(), b.run_once())
        due_now = sorted(s.name for s in SPECS if slots(s.cron, now - timedelta(minutes=1), now))
        assert sorted(f.name for f in fired_a + fired_b) == due_now
    await assert_each_due_trigger_fired_once(dsn, clock())


async def test_triggers_missed_during_downtime_fire_once_not_once_per_slot(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    loop = await replicas.replica("replica-a")
    await loop.reconcile()
    now = clock.advance(timedelta(days=1, minutes=10))  # the scheduler was down for a day
    fired = {f.name: f for f in await loop.run_once()}
    assert set(fired) == {s.name for s in SPECS}
    for spec in SPECS:
        firing = fired[spec.name]
        assert firing.due_at == next_due(spec.cron, T0)  # the trigger that was due, fired late, once
        assert firing.next_due_at == next_due(spec.cron, now)
        assert firing.missed == min(len(slots(spec.cron, firing.due_at, now)), 1000)  # capped
        assert firing.fired_at - firing.due_at > timedelta(days=1)
    assert await loop.run_once() == []
    assert len(await firings(dsn)) == len(await outbox_events(dsn)) == len(SPECS)


async def test_a_lease_left_behind_is_taken_over_only_after_it_expires(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    a_container = await replicas.container()
    a = replica(a_container, clock, "replica-a", EVERY_MINUTE)
    b = await replicas.replica("replica-b", EVERY_MINUTE)
    await a.reconcile()
    due = clock.set(datetime(2024, 1, 1, 0, 1, tzinfo=UTC))
    # replica A claims the due trigger, then dies before firing it: its lease stays behind
    (claim,) = await claim_due_schedules(
        a_container.uow_factory(), owner="replica-a", now=due, lease=LEASE, limit=10
    )
    assert claim.due_at == due
    assert await b.run_once() == []
    clock.set(due + LEASE - timedelta(seconds=1))
    assert await b.run_once() == []
    before = takeovers("every_minute")
    clock.set(due + LEASE)
    (firing,) = await b.run_once()
    assert (firing.due_at, firing.missed) == (due, 1)  # the 00:02 slot is folded into this late firing
    assert takeovers("every_minute") == before + 1
    (row,) = await firings(dsn)
    assert (row["due_at"], row["fired_by"]) == (due, "replica-b")
    # replica A was not dead after all, only stalled: its stale claim fires nothing
    assert await fire_claim(a_container.uow_factory(), claim, owner="replica-a", now=clock()) is None
    assert len(await firings(dsn)) == len(await outbox_events(dsn)) == 1


async def test_a_replica_killed_mid_fire_is_taken_over_after_its_lease_expires(
    stack: Stack, replicas: Replicas
) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    admin = await asyncpg.connect(stack.admin_dsn.rsplit("/", 1)[0] + "/" + dsn.rsplit("/", 1)[1])
    a = await replicas.replica("replica-a", EVERY_MINUTE)
    b = await replicas.replica("replica-b", EVERY_MINUTE)
    await a.reconcile()
    due = clock.set(datetime(2024, 1, 1, 0, 1, tzinfo=UTC))
    try:
        # hold replica A inside its firing transaction (after it locked the schedule row), then kill it there
        blocker = admin.transaction()
        await blocker.start()
        await admin.execute("LOCK TABLE scheduler.schedule_firing IN EXCLUSIVE MODE")
        firing_a = asyncio.create_task(a.run_once())

        async def a_is_mid_fire() -> int:
            pid = await admin.fetchval(
                "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'scheduler.schedule_firing'::regclass"
            )
            assert pid is not None
            return int(pid)

        pid = await eventually(a_is_mid_fire, timeout=10, interval=0.01)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        await blocker.rollback()
        with pytest.raises(Exception):  # noqa: B017, PT011 - the connection died under it
            await firing_a
    finally:
        await admin.close()
    rows = await schedule_rows(dsn)
    assert rows["every_minute"]["lease_owner"] == "replica-a"  # the lease outlived the replica
    assert await firings(dsn) == []
    assert await b.run_once() == []
    clock.set(due + LEASE - timedelta(seconds=1))
    assert await b.run_once() == []
    clock.set(due + LEASE)
    (firing,) = await b.run_once()
    assert firing.due_at == due
    (row,) = await firings(dsn)
    assert (row["due_at"], row["fired_by"]) == (due, "replica-b")
    (event,) = await outbox_events(dsn)
    assert str(event.event_id) == row["event_id"]
    assert (await schedule_rows(dsn))["every_minute"]["lease_owner"] is None


async def test_a_changed_cron_is_rescheduled_and_a_claim_under_the_old_one_fires_nothing(
    replicas: Replicas,
) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    clock.set(datetime(2024, 1, 1, 10, 20, tzinfo=UTC))
    c = await replicas.container()
    hourly = [ScheduleSpec("freshness", Kind.FRESHNESS, "0 * * * *")]
    await replica(c, clock, "replica-a", hourly).reconcile()
    assert (await schedule_rows(dsn))["freshness"]["next_due_at"] == datetime(2024, 1, 1, 11, 0, tzinfo=UTC)

    # an operator restarts the replicas with another cron; nothing was due, so the new next due time applies
    clock.set(datetime(2024, 1, 1, 10, 25, tzinfo=UTC))
    every_ten = [ScheduleSpec("freshness", Kind.FRESHNESS, "*/10 * * * *")]
    await replica(c, clock, "replica-a", every_ten).reconcile()
    row = (await schedule_rows(dsn))["freshness"]
    assert (row["cron"], row["next_due_at"]) == ("*/10 * * * *", datetime(2024, 1, 1, 10, 30, tzinfo=UTC))

    # a replica still holding a claim made under the old cron fires nothing after the change
    due = clock.set(datetime(2024, 1, 1, 10, 30, tzinfo=UTC))
    (claim,) = await claim_due_schedules(c.uow_factory(), owner="replica-old", now=due, lease=LEASE, limit=10)
    clock.set(datetime(2024, 1, 1, 10, 31, tzinfo=UTC))
    await replica(c, clock, "replica-a", hourly).reconcile()
    assert await fire_claim(c.uow_factory(), claim, owner="replica-old", now=clock()) is None
    row = (await schedule_rows(dsn))["freshness"]
    assert (row["next_due_at"], row["lease_owner"]) == (datetime(2024, 1, 1, 11, 0, tzinfo=UTC), None)
    assert await firings(dsn) == []

    # unchanged configuration on restart keeps the next due time
    await replica(c, clock, "replica-a", hourly).reconcile()
    assert (await schedule_rows(dsn))["freshness"]["next_due_at"] == datetime(2024, 1, 1, 11, 0, tzinfo=UTC)


async def test_disabled_and_removed_schedules_stop_firing(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    c = await replicas.container()
    await replica(c, clock, "replica-a").reconcile()
    only_timeliness_on = [
        ScheduleSpec("every_minute", Kind.FRESHNESS, "off", enabled=False),
        SPECS[1],
    ]
    loop = replica(c, clock, "replica-a", only_timeliness_on)
    await loop.reconcile()
    rows = await schedule_rows(dsn)
    assert {name: r["enabled"] for name, r in rows.items()} == {
        "every_minute": False,
        "every_two_minutes": True,
        "every_five_minutes": False,
        "every_seven_minutes": False,
    }
    clock.advance(timedelta(hours=1))
    assert [f.name for f in await loop.run_once()] == ["every_two_minutes"]
    # enabled again later: due at its next slot, not at the stale one from before it was disabled
    now = clock.advance(timedelta(hours=1, seconds=10))
    await replica(c, clock, "replica-a").reconcile()
    rows = await schedule_rows(dsn)
    assert rows["every_minute"]["next_due_at"] == next_due("* * * * *", now)
    assert rows["every_five_minutes"]["next_due_at"] == next_due("*/5 * * * *", now)


async def test_the_system_schedules_from_settings_are_reconciled_at_start(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    clock.set(datetime(2024, 1, 1, 10, 7, tzinfo=UTC))
    c = await replicas.container(retention_cron="0 4 * * *")
    await ScheduleLoop(c.uow_factory, schedules=c.schedules, clock=clock).reconcile()
    rows = await schedule_rows(dsn)
    assert {
        n: (r["cron"], r["next_due_at"].isoformat(), json.loads(r["params"])) for n, r in rows.items()
    } == {
        "freshness": ("0 * * * *", "2024-01-01T11:00:00+00:00", {}),
        "timeliness": ("*/15 * * * *", "2024-01-01T10:15:00+00:00", {"lookback_minutes": 60}),
        "retention": ("0 4 * * *", "2024-01-02T04:00:00+00:00", {"retention_days": 90, "batch_size": 10000}),
        "queue_monitor": ("*/5 * * * *", "2024-01-01T10:10:00+00:00", {}),
    }


async def test_the_retention_firing_also_prunes_old_firings(replicas: Replicas) -> None:
    dsn, clock = replicas.dsn, replicas.clock
    loop = await replicas.replica("replica-a", [SPECS[0], SPECS[3]])
    await loop.reconcile()
    clock.advance(timedelta(minutes=7))
    assert len(await loop.run_once()) == 2
    early = {f["due_at"] for f in await firings(dsn)}
    clock.advance(timedelta(days=100))
    assert len(await loop.run_once()) == 2  # retention due on day 0 still: its cutoff spares day 0's firings
    assert early <= {f["due_at"] for f in await firings(dsn)}
    clock.advance(timedelta(days=100))
    (retention,) = [f for f in await loop.run_once() if f.kind is Kind.RETENTION]
    remaining = await firings(dsn)
    assert not early & {f["due_at"] for f in remaining}  # fired before day 200's retention cutoff: gone
    assert all(f["fired_at"] >= retention.due_at - timedelta(days=90) for f in remaining)
    assert len(remaining) == 4
