"""Use cases of alerts: raise (once per occurrence, with its deliveries), list, get, resolve, mute.

Listing, getting, resolving and muting act for a principal: a `limited_to_source` one reaches only the alerts
of the data sources it is granted (so never a pipeline alert, which has none); any other alert is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from prometheus_client import Counter

from headwater.common.errors import NotFound
from headwater.common.events import AlertRaised, AlertResolved
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor, CursorPage, cursor_page
from headwater.common.principal import SYSTEM, Principal
from headwater.common.records import project
from headwater.quality_alerting.domain.alerts import Alert, AlertDraft, AlertFilter
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

ALERTS_RAISED = Counter("headwater_alerts_raised_total", "Alerts raised", ["alert_type", "severity"])


async def raise_alerts(uow: UnitOfWork, drafts: Sequence[AlertDraft]) -> list[Alert]:
    """In the caller's open transaction: store the drafts not raised before, publish `alert.raised` for each
    and queue their notifications. Returns the alerts raised now."""
    raised = await uow.alerts.insert_new(drafts)
    for alert in raised:
        uow.publish(project(AlertRaised, alert, alert_id=alert.id, details=alert.body))
        ALERTS_RAISED.labels(alert.alert_type, alert.severity).inc()
        log.info(
            "alert_raised",
            alert_id=alert.id,
            alert_type=alert.alert_type,
            severity=alert.severity,
            pipeline_id=alert.pipeline_id,
            data_source_id=alert.data_source_id,
            stored_item_id=alert.stored_item_id,
        )
    # A muted alert is shown only with the quarantined rows it is about: nobody is notified of it.
    await uow.deliveries.enqueue_for_alerts([a.id for a in raised if not a.is_muted])
    return raised


AlertPage = CursorPage[Alert]


async def list_alerts(
    uow: UnitOfWork,
    *,
    cursor: Cursor = FIRST_PAGE,
    filters: AlertFilter,
    principal: Principal = SYSTEM,
) -> AlertPage:
    """One page of alerts (see `cursor_page`) among those the principal may see."""
    matching = replace(filters, data_sources=principal.visible_data_sources)

    async def walk(from_id: int | None, ascending: bool, limit: int) -> list[Alert]:
        return await uow.alerts.walk(matching, from_id=from_id, ascending=ascending, limit=limit)

    async with uow:
        return await cursor_page(walk, cursor=cursor)


async def get_alert(uow: UnitOfWork, alert_id: int, principal: Principal = SYSTEM) -> Alert:
    async with uow:
        row = await uow.alerts.get(alert_id, principal.visible_data_sources)
    if row is None:
        raise NotFound(f"Alert {alert_id} not found")
    return row


async def resolve_alert(
    uow: UnitOfWork, alert_id: int, action: str | None, principal: Principal = SYSTEM
) -> Alert:
    """Resolve the alert and publish `alert.resolved`; resolving it again changes nothing."""
    visible = principal.visible_data_sources
    async with uow:
        row = await uow.alerts.resolve(alert_id, action, visible)
        if row is None:
            existing = await uow.alerts.get(alert_id, visible)
            if existing is None:
                raise NotFound(f"Alert {alert_id} not found")
            return existing
        assert row.resolved_at is not None  # set by resolving
        uow.publish(
            AlertResolved(
                alert_id=row.id,
                alert_type=row.alert_type,
                pipeline_id=row.pipeline_id,
                action=action,
                resolved_at=row.resolved_at,
            )
        )
        await uow.commit()
    log.info("alert_resolved", alert_id=alert_id, action=action)
    return row


async def mute_alert(uow: UnitOfWork, alert_id: int, muted: bool, principal: Principal = SYSTEM) -> Alert:
    async with uow:
        row = await uow.alerts.set_muted(alert_id, muted, principal.visible_data_sources)
        if row is None:
            raise NotFound(f"Alert {alert_id} not found")
        await uow.commit()
    return row
