"""System schedules: validated cron expressions, due times, and the event each firing publishes; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

import msgspec
from croniter import CroniterBadDateError, CroniterError, croniter

from headwater.common.events import ChecksRequested, Event, JobChanged, JobRunRequested, RetentionRequested

OFF = frozenset({"", "off", "disabled", "none"})
MIN_LOOKBACK_MINUTES = 5
MIN_RETENTION_DAYS = 90  # the floor `POST /log_cleanup` enforces too: deleting history is not undone


class InvalidSchedule(ValueError):
    """A schedule setting that cannot work; the message names the setting, its value and what is expected."""


class Kind(StrEnum):
    """What a schedule asks for when it fires; the three checks are the `check` of `checks.requested`."""

    FRESHNESS = "freshness"
    TIMELINESS = "timeliness"
    QUEUE = "queue"
    RETENTION = "retention"
    SENSOR = "sensor"  # a data source's sensor (a job of ingestion's, kept from `job.changed`)
    SYNC = "sync"  # a sync job: a source copied into a destination (ingestion's too)


# the schedules the scheduler's own settings configure; the others are jobs other services announce
SYSTEM_KINDS = frozenset({Kind.FRESHNESS, Kind.TIMELINESS, Kind.QUEUE, Kind.RETENTION})
JOB_KINDS = frozenset({Kind.SENSOR, Kind.SYNC})


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as configured: `cron` normalised; a disabled one keeps its row but never fires."""

    name: str
    kind: Kind
    cron: str
    enabled: bool = True
    params: Mapping[str, int] = field(default_factory=dict[str, int])


class ScheduleSettings(Protocol):
    """The settings the system schedules are built from (`HEADWATER_SCHEDULER_*`)."""

    @property
    def freshness_cron(self) -> str: ...
    @property
    def timeliness_cron(self) -> str: ...
    @property
    def timeliness_lookback_minutes(self) -> int: ...
    @property
    def retention_cron(self) -> str: ...
    @property
    def retention_days(self) -> int: ...
    @property
    def retention_batch_size(self) -> int: ...
    @property
    def queue_monitor_cron(self) -> str: ...


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: schedules work in UTC")
    return moment.astimezone(UTC)


def next_due(cron: str, after: datetime) -> datetime:
    """The first time strictly after `after` at which `cron` (evaluated in UTC) is due."""
    due = croniter(cron, _utc(after)).get_next(datetime)
    return due.astimezone(UTC)


def missed_slots(cron: str, due_at: datetime, now: datetime, *, limit: int = 1000) -> int:
    """How many later slots of `cron` fell due in (due_at, now] and are folded into one firing (capped)."""
    slots = croniter(cron, _utc(due_at))
    count = 0
    while count < limit and slots.get_next(datetime) <= now:
        count += 1
    return count


def parse_cron(expression: str, *, setting: str, now: datetime | None = None) -> str:
    """`expression` with its whitespace normalised, or InvalidSchedule saying why it cannot be used."""
    cron = " ".join(expression.split())
    hint = "expected 5 fields `minute hour day month weekday` (UTC), or 6 with seconds last, or `off`"
    try:
        next_due(cron, now or datetime.now(UTC))
    except CroniterBadDateError:
        raise InvalidSchedule(f"{setting}={expression!r} is never due ({hint})") from None
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        raise InvalidSchedule(
            f"{setting}={expression!r} is not a valid cron expression: {exc} ({hint})"
        ) from None
    return cron


def _at_least(value: int, minimum: int, setting: str) -> int:
    if value < minimum:
        raise InvalidSchedule(f"{setting}={value} must be at least {minimum}")
    return value


def _spec(name: str, kind: Kind, expression: str, setting: str, **params: int) -> ScheduleSpec:
    if expression.strip().lower() in OFF:
        return ScheduleSpec(name, kind, "off", enabled=False, params=params)
    return ScheduleSpec(name, kind, parse_cron(expression, setting=setting), params=params)


def system_schedules(settings: ScheduleSettings) -> list[ScheduleSpec]:
    """The four system schedules, validated: raises InvalidSchedule naming the first bad setting."""
    prefix = "HEADWATER_SCHEDULER_"
    lookback = _at_least(
        settings.timeliness_lookback_minutes, MIN_LOOKBACK_MINUTES, prefix + "TIMELINESS_LOOKBACK_MINUTES"
    )
    days = _at_least(settings.retention_days, MIN_RETENTION_DAYS, prefix + "RETENTION_DAYS")
    batch = _at_least(settings.retention_batch_size, 1, prefix + "RETENTION_BATCH_SIZE")
    return [
        _spec("freshness", Kind.FRESHNESS, settings.freshness_cron, prefix + "FRESHNESS_CRON"),
        _spec(
            "timeliness",
            Kind.TIMELINESS,
            settings.timeliness_cron,
            prefix + "TIMELINESS_CRON",
            lookback_minutes=lookback,
        ),
        _spec(
            "retention",
            Kind.RETENTION,
            settings.retention_cron,
            prefix + "RETENTION_CRON",
            retention_days=days,
            batch_size=batch,
        ),
        _spec("queue_monitor", Kind.QUEUE, settings.queue_monitor_cron, prefix + "QUEUE_MONITOR_CRON"),
    ]


def event_for(name: str, kind: Kind, params: Mapping[str, int], due_at: datetime) -> Event:
    """What the firing of schedule `name` due at `due_at` publishes."""
    if kind in JOB_KINDS:
        return JobRunRequested(
            job=name,
            kind=kind.value,
            data_source_id=params.get("data_source_id"),
            job_id=params.get("job_id"),
            due_at=due_at,
            schedule=name,
        )
    if kind is Kind.RETENTION:
        days = params["retention_days"]
        return RetentionRequested(
            retention_days=days,
            batch_size=params["batch_size"],
            cutoff=due_at - timedelta(days=days),
            schedule=name,
        )
    return ChecksRequested(
        check=kind.value, lookback_minutes=params.get("lookback_minutes"), schedule=name, due_at=due_at
    )


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule row as the database holds it (what reconciliation compares the configuration with)."""

    name: str
    kind: str
    cron: str
    params: Mapping[str, int]
    enabled: bool
    next_due_at: datetime


class Change(StrEnum):
    ADDED = "added"
    RESCHEDULED = "rescheduled"  # cron changed or re-enabled: the next due time is computed afresh
    UPDATED = "updated"  # parameters only: the next due time stays
    DISABLED = "disabled"
    REMOVED = "removed"  # a job's schedule whose job is gone (its firings go with it)


@dataclass(frozen=True)
class Reconciliation:
    """One row to write: `values` are the columns to set (all of them for a new row)."""

    name: str
    change: Change
    values: Mapping[str, object]
    release_lease: bool = False


def reconcile(
    stored: Mapping[str, StoredSchedule], wanted: list[ScheduleSpec], now: datetime
) -> list[Reconciliation]:
    """What to write so the stored schedules match the configured ones.

    A changed cron (or a schedule enabled again) gets its next due time recomputed from `now` and loses any
    lease, so a claim taken under the old cron never fires; a system schedule no longer configured is disabled,
    not deleted, so its firing history stays. Jobs' schedules (from `job.changed`) are not the configuration's
    and are left alone.
    """
    plan: list[Reconciliation] = []
    for spec in wanted:
        values: dict[str, object] = {
            "kind": spec.kind.value,
            "cron": spec.cron,
            "params": dict(spec.params),
            "enabled": spec.enabled,
        }
        fresh_due = next_due(spec.cron, now) if spec.enabled else now
        row = stored.get(spec.name)
        if row is None:
            plan.append(Reconciliation(spec.name, Change.ADDED, {**values, "next_due_at": fresh_due}))
            continue
        same = (row.kind, row.cron, dict(row.params), row.enabled) == (
            values["kind"],
            values["cron"],
            values["params"],
            values["enabled"],
        )
        if same:
            continue
        if not spec.enabled:
            plan.append(Reconciliation(spec.name, Change.DISABLED, values))
        elif row.cron != spec.cron or not row.enabled:
            plan.append(
                Reconciliation(
                    spec.name, Change.RESCHEDULED, {**values, "next_due_at": fresh_due}, release_lease=True
                )
            )
        else:
            plan.append(Reconciliation(spec.name, Change.UPDATED, values))
    configured = {spec.name for spec in wanted}
    for name, row in sorted(stored.items()):
        if name not in configured and row.enabled and row.kind in SYSTEM_KINDS:
            plan.append(Reconciliation(name, Change.DISABLED, {"enabled": False}))
    return plan


@dataclass(frozen=True)
class Claim:
    """A due schedule this replica leased: fire it for `due_at` before the lease runs out.

    `previous_owner` is the replica whose expired lease was taken over, if any.
    """

    name: str
    kind: Kind
    cron: str
    params: Mapping[str, int]
    due_at: datetime
    previous_owner: str | None = None


@dataclass(frozen=True)
class Firing:
    """A schedule fired: the due time it fired for, when, by whom, the event it published."""

    name: str
    kind: Kind
    due_at: datetime
    fired_at: datetime
    event_id: str
    next_due_at: datetime
    missed: int = 0  # later slots that fell due meanwhile and were folded into this one firing


class LeasedSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """A schedule row locked for firing while this replica still holds its lease."""

    kind: Kind
    cron: str
    params: Mapping[str, int]


class ListedSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """A schedule as `GET /schedules` lists it."""

    name: str
    cron: str
    enabled: bool
    next_due_at: datetime
    last_fired_at: datetime | None


def job_schedule(event: JobChanged, stored: StoredSchedule | None, now: datetime) -> Reconciliation | None:
    """What a `job.changed` does to the job's schedule: added, rescheduled (new cron or enabled again: next due
    time afresh, lease released), updated, disabled or removed; None when the change is older than (or the same
    as) the one applied, or changes nothing. InvalidSchedule when its cron cannot work."""
    kind = Kind(event.kind)
    params = {"version": event.version} | {
        name: value
        for name, value in (("data_source_id", event.data_source_id), ("job_id", event.job_id))
        if value is not None
    }
    if stored is not None and stored.params.get("version", 0) >= event.version:
        return None
    if event.removed:
        return None if stored is None else Reconciliation(event.job, Change.REMOVED, {})
    cron = parse_cron(event.cron, setting=f"{event.job} cron", now=now) if event.cron else "off"
    enabled = event.enabled and cron != "off"
    values: dict[str, object] = {"kind": kind.value, "cron": cron, "params": params, "enabled": enabled}
    fresh_due = next_due(cron, now) if enabled else now
    if stored is None:
        return Reconciliation(event.job, Change.ADDED, {**values, "next_due_at": fresh_due})
    if not enabled:
        return Reconciliation(event.job, Change.DISABLED, values, release_lease=True)
    if stored.cron != cron or not stored.enabled:
        return Reconciliation(
            event.job, Change.RESCHEDULED, {**values, "next_due_at": fresh_due}, release_lease=True
        )
    return Reconciliation(event.job, Change.UPDATED, values)
