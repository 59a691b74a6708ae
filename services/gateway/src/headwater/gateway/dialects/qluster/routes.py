"""Qluster routes of alerts (spec 003: Get Alerts, Get Alert, Resolve Alert; and mute), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.qluster import Alert, AlertMute, AlertPage, AlertResolve, AlertResolved
from headwater.gateway.dialects.deps import ToQualityAlerting

AlertId = Annotated[int | None, QueryParameter(ge=1)]


class AlertRoutes(Controller):
    tags = ["Alerts"]

    @get(
        QualityAlertingPaths.ALERTS,
        summary="Get alerts",
        description="Cursor pagination: `start` (walk up from an id) or `end` (down to one), not both; `limit` "
        "(20); `reverse` (true: newest first). Filters: `resolved` (false), `is_muted` (false), and beyond "
        "Qluster `alert_type` (anomaly, freshness, timeliness, queue_backlog) and `pipeline_id`. `next` and "
        "`previous` are the query parameters of the neighbouring pages.",
    )
    async def list_page(
        self,
        to_quality_alerting: ToQualityAlerting,
        start: AlertId = None,
        end: AlertId = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 20,
        resolved: FromQuery[bool] = False,
        reverse: FromQuery[bool] = True,
        is_muted: FromQuery[bool] = False,
        dataset_id: FromQuery[int | None] = None,
        data_source_model_id: FromQuery[int | None] = None,
        alert_type: FromQuery[str | None] = None,
        pipeline_id: FromQuery[int | None] = None,
    ) -> Response[AlertPage]:
        if start is not None and end is not None:
            raise ValidationException("pass either `start` or `end`, not both")
        return await to_quality_alerting()

    @get(QualityAlertingPaths.ALERT, summary="Get alert")
    async def get_one(
        self, alert_item_id: FromPath[int], to_quality_alerting: ToQualityAlerting
    ) -> Response[Alert]:
        return await to_quality_alerting()

    @post(QualityAlertingPaths.RESOLVE_ALERT, summary="Resolve alert", status_code=200)
    async def resolve(
        self,
        alert_item_id: FromPath[int],
        data: JSONBody[AlertResolve],
        to_quality_alerting: ToQualityAlerting,
    ) -> Response[AlertResolved]:
        return await to_quality_alerting()

    @post(
        QualityAlertingPaths.MUTE_ALERT,
        summary="Mute or unmute alert",
        description='`{"is_muted": true}` (the default) hides the alert from the default list.',
        status_code=200,
    )
    async def mute(
        self, alert_item_id: FromPath[int], data: JSONBody[AlertMute], to_quality_alerting: ToQualityAlerting
    ) -> Response[Alert]:
        return await to_quality_alerting()


ROUTES = [AlertRoutes]
