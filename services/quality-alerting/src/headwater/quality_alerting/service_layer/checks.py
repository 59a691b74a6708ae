"""Use cases of the freshness and timeliness checks: find stale pipelines and late executions, log and alert once.

Each check is one transaction of a few set-based statements, whatever the number of pipelines: log what is new
(the `checks` repository), raise its alerts (`raise_alerts`: one insert, the `alert.raised` outbox rows, the
deliveries), commit. Checks are idempotent without an inbox: the logs' unique keys (pipeline and DML timestamp;
execution) and the alerts' dedup keys make a repeated or redelivered check log and alert nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from prometheus_client import Counter, Histogram

from headwater.common.errors import Invalid
from headwater.common.logging import get_logger
from headwater.quality_alerting.domain.alerts import AlertDraft
from headwater.quality_alerting.domain.slo import late_execution_alert, stale_pipeline_alert
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.ports import Checks
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

DEFAULT_LOOKBACK_MINUTES = 60

V = TypeVar("V")  # a violation a check logs

# Labelled by check (`freshness`, `timeliness`; other checks may observe theirs here too).
CHECK_DURATION = Histogram(
    "headwater_check_duration_seconds",
    "Time one check took, from its transaction's start to its commit",
    ["check"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECK_VIOLATIONS = Counter(
    "headwater_check_violations_total",
    "Violations a check found for the first time (stale pipelines, late executions)",
    ["check"],
)


@dataclass(frozen=True)
class CheckCounts:
    """What one check found for the first time: `found` violations logged now, `alerts_raised` new alerts."""

    found: int
    alerts_raised: int


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise Invalid("now must be timezone-aware")


async def check_freshness(uow: UnitOfWork, now: datetime) -> CheckCounts:
    """Log and alert every active, unmuted pipeline with freshness settings whose last DML + the allowed
    interval is before `now`, once per stale DML timestamp. Pipelines without a DML are never stale."""
    _require_aware(now)
    began = time.perf_counter()
    counts = await _log_and_alert(
        uow, "freshness", lambda checks: checks.log_stale_pipelines(now), stale_pipeline_alert
    )
    return _finished("freshness", began, counts, now=now)


async def check_timeliness(
    uow: UnitOfWork, now: datetime, lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES
) -> CheckCounts:
    """Log and alert, once per execution, every execution of an active, unmuted pipeline with timeliness
    settings that started within the last `lookback_minutes` and is late at `now`: still running past its start
    + the allowed interval, or succeeded after it. Failed executions are never late."""
    _require_aware(now)
    if lookback_minutes < 1:
        raise Invalid(f"lookback_minutes must be at least 1, not {lookback_minutes}")
    began = time.perf_counter()
    counts = await _log_and_alert(
        uow,
        "timeliness",
        lambda checks: checks.log_late_executions(now, lookback_minutes),
        late_execution_alert,
    )
    return _finished("timeliness", began, counts, now=now, lookback_minutes=lookback_minutes)


async def _log_and_alert(
    uow: UnitOfWork,
    check: str,
    log_new: Callable[[Checks], Awaitable[Sequence[V]]],
    alert: Callable[[V], AlertDraft],
) -> CheckCounts:
    """One transaction: take the check's lock, log the violations not logged before, raise their alerts."""
    async with uow:
        await uow.checks.lock_check(check)
        found = await log_new(uow.checks)
        raised = await raise_alerts(uow, [alert(v) for v in found])
        await uow.commit()
    return CheckCounts(found=len(found), alerts_raised=len(raised))


def _finished(check: str, began: float, counts: CheckCounts, **context: object) -> CheckCounts:
    seconds = time.perf_counter() - began
    CHECK_DURATION.labels(check).observe(seconds)
    CHECK_VIOLATIONS.labels(check).inc(counts.found)
    log.info(
        f"{check}_checked",
        found=counts.found,
        alerts_raised=counts.alerts_raised,
        seconds=round(seconds, 4),
        **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in context.items()},
    )
    return counts
