"""Freshness and timeliness in plain Python: calendar arithmetic on dateparts and the alerts a violation raises.

The checks themselves run as SQL (adapters/db/checks.py) with Postgres's `make_interval`; `add_dateparts` is the
same calendar arithmetic in Python, for the wording of alerts and for tests that hold the SQL to it.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import msgspec

from headwater.quality_alerting.domain.alerts import AlertDraft

DATEPARTS = ("minute", "hour", "day", "week", "month", "year")

SEVERITY = "warning"


class StalePipeline(msgspec.Struct, frozen=True, kw_only=True):
    """A pipeline found stale and logged for the first time at this DML timestamp."""

    pipeline_id: int
    pipeline_name: str
    pipeline_type_id: int
    last_dml_at: datetime
    due_at: datetime
    freshness_number: int
    freshness_datepart: str


class LateExecution(msgspec.Struct, frozen=True, kw_only=True):
    """An execution found late (`running` past its due time, or `succeeded` after it), logged once."""

    pipeline_id: int
    pipeline_name: str
    pipeline_type_id: int
    execution_id: int
    status: str
    start_date: datetime
    end_date: datetime | None
    due_at: datetime
    timeliness_number: int
    timeliness_datepart: str


def add_dateparts(moment: datetime, number: int, datepart: str) -> datetime:
    """`moment` + `number` x `datepart` in UTC, calendar-correct as Postgres adds intervals.

    Months and years move the calendar date and clamp to the month's last day (Jan 31 + 1 month = Feb 28 or 29;
    Feb 29 + 1 year = Feb 28); days and weeks are whole UTC days (no daylight-saving shifts).
    """
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    if datepart not in DATEPARTS:
        raise ValueError(f"unknown datepart {datepart!r}; expected one of {', '.join(DATEPARTS)}")
    moment = moment.astimezone(UTC)
    if datepart in ("month", "year"):
        months = moment.month - 1 + number * (12 if datepart == "year" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    unit = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
    return moment + number * unit.get(datepart, timedelta(weeks=1))


def describe(number: int, datepart: str) -> str:
    """`1 hour`, `3 days`: an allowed interval as people write it."""
    return f"{number} {datepart}{'' if number == 1 else 's'}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def stale_pipeline_alert(stale: StalePipeline) -> AlertDraft:
    """The alert for a pipeline whose data is stale: raised once per stale DML timestamp."""
    last, due = _iso(stale.last_dml_at), _iso(stale.due_at)
    allowed = describe(stale.freshness_number, stale.freshness_datepart)
    return AlertDraft(
        alert_type="freshness",
        severity=SEVERITY,
        msg=(
            f"Pipeline '{stale.pipeline_name}' is stale: its last DML was at {last}, and new data was expected "
            f"within {allowed} (by {due})"
        ),
        dedup_key=f"freshness:{stale.pipeline_id}:{last}",
        condition_key=f"freshness:{stale.pipeline_id}",
        body={**msgspec.structs.asdict(stale), "last_dml_at": last, "due_at": due},
        pipeline_id=stale.pipeline_id,
        pipeline_name=stale.pipeline_name,
        pipeline_type_id=stale.pipeline_type_id,
    )


def late_execution_alert(late: LateExecution) -> AlertDraft:
    """The alert for an execution that ran (`running`) or finished (`succeeded`) late: raised once per execution."""
    start, end, due = _iso(late.start_date), _iso(late.end_date), _iso(late.due_at)
    allowed = describe(late.timeliness_number, late.timeliness_datepart)
    if late.status == "running":
        what = f"is still running past its allowed {allowed}: started at {start}, due by {due}"
    else:
        what = f"finished late: started at {start}, ended at {end}, allowed {allowed} (due by {due})"
    return AlertDraft(
        alert_type="timeliness",
        severity=SEVERITY,
        msg=f"Execution {late.execution_id} of pipeline '{late.pipeline_name}' {what}",
        dedup_key=f"timeliness:{late.execution_id}",
        condition_key=f"timeliness:{late.pipeline_id}",
        body={**msgspec.structs.asdict(late), "start_date": start, "end_date": end, "due_at": due},
        pipeline_id=late.pipeline_id,
        pipeline_name=late.pipeline_name,
        pipeline_type_id=late.pipeline_type_id,
        execution_id=late.execution_id,
    )
