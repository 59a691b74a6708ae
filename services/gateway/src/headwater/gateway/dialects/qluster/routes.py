"""Qluster routes of alerts (spec 003: Get Alerts, Get Alert, Resolve Alert; and mute), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, QueryParameter

from headwater.common.contracts.paths import QualityAlertingPaths as Paths
from headwater.common.contracts.qluster import Alert, AlertMute, AlertPage, AlertResolve, AlertResolved
from headwater.gateway.dialects.deps import ToQualityAlerting
from headwater.gateway.dialects.forward import Forwarding

AlertId = Annotated[int | None, QueryParameter(ge=1)]

alerts = Forwarding("to_quality_alerting", "Alerts")


@get(
    Paths.ALERTS,
    tags=[alerts.tag],
    summary="Get alerts",
    description="Cursor pagination: `start` (walk up from an id) or `end` (down to one), not both; `limit` "
    "(20); `reverse` (true: newest first). Filters: `resolved` (false), `is_muted` (false; muted alerts are "
    "those of ordinary quarantined rows), `dataset_id`, `data_source_model_id`, and beyond Qluster "
    "`alert_type` (anomaly, freshness, timeliness, queue_backlog, ingestion_failed, or the type ingestion "
    "quarantined rows under) and `pipeline_id`. `next` and `previous` are the query parameters of the "
    "neighbouring pages.",
)
async def list_page(
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


ROUTES = [
    list_page,
    alerts.route(get, Paths.ALERT, "get_one", Alert, summary="Get alert"),
    alerts.route(
        post,
        Paths.RESOLVE_ALERT,
        "resolve",
        AlertResolved,
        data=AlertResolve,
        summary="Resolve alert",
        status_code=200,
    ),
    alerts.route(
        post,
        Paths.MUTE_ALERT,
        "mute",
        Alert,
        data=AlertMute,
        summary="Mute or unmute alert",
        description='`{"is_muted": true}` (the default) hides the alert from the default list.',
        status_code=200,
    ),
]
