"""Use case of the Watcher check endpoints: a check asked for over the API is queued through the outbox."""

from __future__ import annotations

from headwater.common.events import ChecksRequested
from headwater.scheduler.domain.schedules import Kind
from headwater.scheduler.service_layer.unit_of_work import UnitOfWork


async def request_check(
    uow: UnitOfWork, check: Kind, *, lookback_minutes: int | None = None
) -> ChecksRequested:
    """Publish `checks.requested` for `check` (not from a schedule); quality-alerting runs it."""
    if check is Kind.RETENTION:
        raise ValueError("retention is not a check")
    event = ChecksRequested(check=check.value, lookback_minutes=lookback_minutes)
    async with uow:
        uow.publish(event)
        await uow.commit()
    return event
