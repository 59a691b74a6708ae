"""Notification channel routes (our addition, /api/v1/notification_channels), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation

from headwater.common.contracts.alerting import (
    DEFAULT_DELIVERIES_LIMIT,
    MAX_DELIVERIES_LIMIT,
    NotificationChannel,
    NotificationChannelCreate,
    NotificationChannelUpdate,
    NotificationDelivery,
    NotificationTestResult,
)
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
QualityAlerting = NamedDependency[SkipValidation[Upstream]]


class NotificationChannelRoutes(Controller):
    path = "/api/v1/notification_channels"
    tags = ["Notifications"]

    @post(
        "/",
        summary="Create a notification channel",
        status_code=201,
        description="`kind` `slack` posts to a Slack-compatible incoming webhook; `webhook` posts the alert as "
        "JSON signed with HMAC-SHA256 of the body under `secret` (header `X-Headwater-Signature: "
        "sha256=<hex>`). `scope` `global`, `pipeline_type` (with `pipeline_type_id`) or `pipeline` (with "
        "`pipeline_id`); alerts below `min_severity` are not sent; a repeat of the same condition within "
        "`suppression_minutes` is suppressed. 409 when the name is taken, 422 on a bad field. The secret is "
        "never returned (`has_secret`).",
    )
    async def create(
        self,
        data: JSONBody[NotificationChannelCreate],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[NotificationChannel]:
        return await forward(quality_alerting, request, principal)

    @get("/", summary="List notification channels")
    async def list_all(
        self, request: AnyRequest, principal: Caller, quality_alerting: QualityAlerting
    ) -> Response[list[NotificationChannel]]:
        return await forward(quality_alerting, request, principal)

    @get("/{channel_id:int}", summary="Get a notification channel")
    async def get_one(
        self,
        channel_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[NotificationChannel]:
        return await forward(quality_alerting, request, principal)

    @patch(
        "/{channel_id:int}",
        summary="Change a notification channel",
        description="Only the fields sent change. A new `scope` clears the ids it does not use. Deactivating a "
        "channel gives up its pending deliveries.",
    )
    async def update(
        self,
        channel_id: FromPath[int],
        data: JSONBody[NotificationChannelUpdate],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[NotificationChannel]:
        return await forward(quality_alerting, request, principal)

    @delete("/{channel_id:int}", summary="Delete a notification channel and its deliveries", status_code=204)
    async def remove(
        self,
        channel_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[None]:
        return await forward(quality_alerting, request, principal)

    @get(
        "/{channel_id:int}/deliveries",
        summary="Deliveries of a notification channel",
        description="Newest first: `status` (pending, delivered, failed, suppressed), `attempts`, `last_error`, "
        "`last_status_code`, `delivered_at`, `alert_id`.",
    )
    async def deliveries(
        self,
        channel_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_DELIVERIES_LIMIT)] = DEFAULT_DELIVERIES_LIMIT,
    ) -> Response[list[NotificationDelivery]]:
        return await forward(quality_alerting, request, principal)

    @post(
        "/{channel_id:int}/test",
        summary="Send a test message",
        status_code=200,
        description="Sends a test message to the channel now and answers with the receiver's status code, or "
        "the error when it did not answer 2xx. Nothing is recorded.",
    )
    async def send_test(
        self,
        channel_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[NotificationTestResult]:
        return await forward(quality_alerting, request, principal)


ROUTES = [NotificationChannelRoutes]
