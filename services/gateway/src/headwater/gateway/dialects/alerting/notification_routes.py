"""Notification channel routes (our addition, /api/v1/notification_channels), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from headwater.common.contracts.alerting import (
    DEFAULT_DELIVERIES_LIMIT,
    MAX_DELIVERIES_LIMIT,
    NotificationChannel,
    NotificationChannelCreate,
    NotificationChannelUpdate,
    NotificationDelivery,
    NotificationTestResult,
)
from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.gateway.dialects.deps import ToQualityAlerting


class NotificationChannelRoutes(Controller):
    tags = ["Notifications"]

    @post(
        QualityAlertingPaths.NOTIFICATION_CHANNELS,
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
        self, data: JSONBody[NotificationChannelCreate], to_quality_alerting: ToQualityAlerting
    ) -> Response[NotificationChannel]:
        return await to_quality_alerting()

    @get(QualityAlertingPaths.NOTIFICATION_CHANNELS, summary="List notification channels")
    async def list_all(self, to_quality_alerting: ToQualityAlerting) -> Response[list[NotificationChannel]]:
        return await to_quality_alerting()

    @get(QualityAlertingPaths.NOTIFICATION_CHANNEL, summary="Get a notification channel")
    async def get_one(
        self, channel_id: FromPath[int], to_quality_alerting: ToQualityAlerting
    ) -> Response[NotificationChannel]:
        return await to_quality_alerting()

    @patch(
        QualityAlertingPaths.NOTIFICATION_CHANNEL,
        summary="Change a notification channel",
        description="Only the fields sent change. A new `scope` clears the ids it does not use. Deactivating a "
        "channel gives up its pending deliveries.",
    )
    async def update(
        self,
        channel_id: FromPath[int],
        data: JSONBody[NotificationChannelUpdate],
        to_quality_alerting: ToQualityAlerting,
    ) -> Response[NotificationChannel]:
        return await to_quality_alerting()

    @delete(
        QualityAlertingPaths.NOTIFICATION_CHANNEL,
        summary="Delete a notification channel and its deliveries",
        status_code=204,
    )
    async def remove(
        self, channel_id: FromPath[int], to_quality_alerting: ToQualityAlerting
    ) -> Response[None]:
        return await to_quality_alerting()

    @get(
        QualityAlertingPaths.NOTIFICATION_DELIVERIES,
        summary="Deliveries of a notification channel",
        description="Newest first: `status` (pending, delivered, failed, suppressed), `attempts`, `last_error`, "
        "`last_status_code`, `delivered_at`, `alert_id`.",
    )
    async def deliveries(
        self,
        channel_id: FromPath[int],
        to_quality_alerting: ToQualityAlerting,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_DELIVERIES_LIMIT)] = DEFAULT_DELIVERIES_LIMIT,
    ) -> Response[list[NotificationDelivery]]:
        return await to_quality_alerting()

    @post(
        QualityAlertingPaths.TEST_NOTIFICATION_CHANNEL,
        summary="Send a test message",
        status_code=200,
        description="Sends a test message to the channel now and answers with the receiver's status code, or "
        "the error when it did not answer 2xx. Nothing is recorded.",
    )
    async def send_test(
        self, channel_id: FromPath[int], to_quality_alerting: ToQualityAlerting
    ) -> Response[NotificationTestResult]:
        return await to_quality_alerting()


ROUTES = [NotificationChannelRoutes]
