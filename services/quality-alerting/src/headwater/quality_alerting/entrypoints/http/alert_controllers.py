"""Internal API of alerts (Qluster dialect): list with cursor pagination, get, resolve, mute.

Alerts are scoped to the caller's principal: a `limited_to_source` one lists and reaches only the alerts of
its granted data sources, and any other alert answers 404 like a missing one.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.qluster import Alert, AlertMute, AlertPage, AlertResolve, AlertResolved
from headwater.common.http import CursorQuery, caller, cursor_query
from headwater.quality_alerting.domain import alerts as records
from headwater.quality_alerting.entrypoints.http.deps import Caller, UowFactory
from headwater.quality_alerting.service_layer import alerts

ALERT_FIELDS = frozenset(Alert.__struct_fields__)
QLUSTER_NAMES = {"data_source_id": "data_source_model_id"}  # column → Qluster's name for it


def _alert(alert: records.Alert) -> Alert:
    fields = {QLUSTER_NAMES.get(k, k): v for k, v in msgspec.structs.asdict(alert).items()}
    fields["stored_items_to_alerts"] = [] if alert.stored_item_id is None else [alert.stored_item_id]
    return Alert(**{k: v for k, v in fields.items() if k in ALERT_FIELDS})


class AlertController(Controller):
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(QualityAlertingPaths.ALERTS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        resolved: FromQuery[bool] = False,
        is_muted: FromQuery[bool] = False,
        alert_type: FromQuery[str | None] = None,
        pipeline_id: FromQuery[int | None] = None,
        dataset_id: FromQuery[int | None] = None,
        data_source_model_id: FromQuery[int | None] = None,
    ) -> AlertPage:
        filters = records.AlertFilter(
            resolved=resolved,
            is_muted=is_muted,
            alert_type=alert_type,
            pipeline_id=pipeline_id,
            data_source_id=data_source_model_id,
            dataset_id=dataset_id,
        )
        echoed = {QLUSTER_NAMES.get(k, k): v for k, v in filters.columns().items()}
        page = await alerts.list_alerts(
            uow_factory(),
            cursor=cursor,
            filters=filters,
            principal=principal,
        )
        return AlertPage(
            next=page.next, previous=page.previous, results=[_alert(r) for r in page.results], filters=echoed
        )

    @get(QualityAlertingPaths.ALERT)
    async def get_one(
        self, alert_item_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> Alert:
        return _alert(await alerts.get_alert(uow_factory(), alert_item_id, principal))

    @post(QualityAlertingPaths.RESOLVE_ALERT, status_code=HTTP_200_OK)
    async def resolve(
        self,
        alert_item_id: FromPath[int],
        data: JSONBody[AlertResolve],
        uow_factory: UowFactory,
        principal: Caller,
    ) -> AlertResolved:
        await alerts.resolve_alert(uow_factory(), alert_item_id, data.action, principal)
        return AlertResolved()

    @post(QualityAlertingPaths.MUTE_ALERT, status_code=HTTP_200_OK)
    async def mute(
        self,
        alert_item_id: FromPath[int],
        data: JSONBody[AlertMute],
        uow_factory: UowFactory,
        principal: Caller,
    ) -> Alert:
        return _alert(await alerts.mute_alert(uow_factory(), alert_item_id, data.is_muted, principal))
