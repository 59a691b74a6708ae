"""Use cases of alerts: raise (once per occurrence, with its deliveries), list, get, resolve, mute.

Listing, getting, resolving and muting act for a principal: a `limited_to_source` one reaches only the alerts
of the data sources it is granted (so never a pipeline alert, which has none); any other alert is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import RowMapping

from headwater.common.events import AlertRaised, AlertResolved
from headwater.common.logging import get_logger
from headwater.common.principal import SYSTEM, Principal
from headwater.quality_alerting.adapters.db import alerts, deliveries
from headwater.quality_alerting.domain.alerts import AlertDraft
from headwater.quality_alerting.service_layer.errors import NotFound
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

ALERTS_RAISED = Counter("headwater_alerts_raised_total", "Alerts raised", ["alert_type", "severity"])


async def raise_alerts(uow: UnitOfWork, drafts: Sequence[AlertDraft]) -> list[RowMapping]:
    """In the caller's transaction: store the drafts not raised before, publish `alert.raised` for each and
    queue their notifications. Returns the alerts raised now."""
    rows = await alerts.insert_new(uow.conn, drafts)
    for row in rows:
        uow.publish(
            AlertRaised(
                alert_id=row["id"],
                alert_type=row["alert_type"],
                severity=row["severity"],
                pipeline_id=row["pipeline_id"],
                pipeline_name=row["pipeline_name"],
                execution_id=row["execution_id"],
                msg=row["msg"],
                details=row["body"],
                created_at=row["created_at"],
            )
        )
        ALERTS_RAISED.labels(row["alert_type"], row["severity"]).inc()
        log.info(
            "alert_raised",
            alert_id=row["id"],
            alert_type=row["alert_type"],
            severity=row["severity"],
            pipeline_id=row["pipeline_id"],
        )
    await deliveries.enqueue_for_alerts(uow.conn, [r["id"] for r in rows])
    return rows


@dataclass(frozen=True)
class AlertPage:
    results: list[RowMapping]
    next: dict[str, Any] | None
    previous: dict[str, Any] | None


async def list_alerts(
    uow: UnitOfWork,
    *,
    start: int | None = None,
    end: int | None = None,
    limit: int = 20,
    reverse: bool = True,
    filters: dict[str, Any],
    principal: Principal = SYSTEM,
) -> AlertPage:
    """One page of alerts. `start` walks up from an id, `end` down to one, neither begins at the newest
    (`reverse`, the default) or the oldest; results come newest first when `reverse`. `next` and `previous`
    are the query parameters of the neighbouring pages, or null at either end."""
    ascending = start is not None or (end is None and not reverse)
    filters = {**filters, "data_sources": principal.visible_data_sources}
    async with uow:
        rows = await alerts.walk(
            uow.conn,
            from_id=start if start is not None else end,
            ascending=ascending,
            limit=limit + 1,
            **filters,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        before: list[RowMapping] = []
        if rows:  # is there anything on the other side of where this page began?
            edge = rows[0]["id"]
            before = await alerts.walk(
                uow.conn,
                from_id=edge - 1 if ascending else edge + 1,
                ascending=not ascending,
                limit=1,
                **filters,
            )
    ids = [r["id"] for r in rows]
    # In display order, "next" continues away from the newest when reverse, towards it otherwise.
    results = sorted(rows, key=lambda r: r["id"], reverse=reverse)
    higher = (more if ascending else bool(before)) and ids
    lower = (bool(before) if ascending else more) and ids
    up = {"start": max(ids) + 1, "limit": limit, "reverse": reverse} if higher else None
    down = {"end": min(ids) - 1, "limit": limit, "reverse": reverse} if lower else None
    return AlertPage(results=results, next=down if reverse else up, previous=up if reverse else down)


async def get_alert(uow: UnitOfWork, alert_id: int, principal: Principal = SYSTEM) -> RowMapping:
    async with uow:
        row = await alerts.get(uow.conn, alert_id, principal.visible_data_sources)
    if row is None:
        raise NotFound(f"Alert {alert_id} not found")
    return row


async def resolve_alert(
    uow: UnitOfWork, alert_id: int, action: str | None, principal: Principal = SYSTEM
) -> RowMapping:
    """Resolve the alert and publish `alert.resolved`; resolving it again changes nothing."""
    visible = principal.visible_data_sources
    async with uow:
        row = await alerts.resolve(uow.conn, alert_id, action, visible)
        if row is None:
            existing = await alerts.get(uow.conn, alert_id, visible)
            if existing is None:
                raise NotFound(f"Alert {alert_id} not found")
            return existing
        uow.publish(
            AlertResolved(
                alert_id=row["id"],
                alert_type=row["alert_type"],
                pipeline_id=row["pipeline_id"],
                action=action,
                resolved_at=row["resolved_at"],
            )
        )
        await uow.commit()
    log.info("alert_resolved", alert_id=alert_id, action=action)
    return row


async def mute_alert(
    uow: UnitOfWork, alert_id: int, muted: bool, principal: Principal = SYSTEM
) -> RowMapping:
    async with uow:
        row = await alerts.set_muted(uow.conn, alert_id, muted, principal.visible_data_sources)
        if row is None:
            raise NotFound(f"Alert {alert_id} not found")
        await uow.commit()
    return row
