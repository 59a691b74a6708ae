"""Qluster routes of alerts (spec 003: Get Alerts, Get Alert, Resolve Alert; and mute), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, SkipValidation

from headwater.common.contracts.qluster import Alert, AlertMute, AlertPage, AlertResolve, AlertResolved
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
QualityAlerting = NamedDependency[SkipValidation[Upstream]]
AlertId = Annotated[int | None, QueryParameter(ge=1)]


class AlertRoutes(Controller):
    path = "/alerts"
    tags = ["Alerts"]

    @get(
        "/",
        summary="Get alerts",
        description="Cursor pagination: `start` (walk up from an id) or `end` (down to one), not both; `limit` "
        "(20); `reverse` (true: newest first). Filters: `resolved` (false), `is_muted` (false), and beyond "
        "Qluster `alert_type` (anomaly, freshness, timeliness, queue_backlog) and `pipeline_id`. `next` and "
        "`previous` are the query parameters of the neighbouring pages.",
    )
    async def list_page(
        self,
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
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
        return await forward(quality_alerting, request, principal)

    @get("/{alert_item_id:int}", summary="Get alert")
    async def get_one(
        self,
        alert_item_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[Alert]:
        return await forward(quality_alerting, request, principal)

    @post("/{alert_item_id:int}/resolve", summary="Resolve alert", status_code=200)
    async def resolve(
        self,
        alert_item_id: FromPath[int],
        data: JSONBody[AlertResolve],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[AlertResolved]:
        return await forward(quality_alerting, request, principal)

    @post(
        "/{alert_item_id:int}/mute",
        summary="Mute or unmute alert",
        description='`{"is_muted": true}` (the default) hides the alert from the default list.',
        status_code=200,
    )
    async def mute(
        self,
        alert_item_id: FromPath[int],
        data: JSONBody[AlertMute],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[Alert]:
        return await forward(quality_alerting, request, principal)


ROUTES = [AlertRoutes]
