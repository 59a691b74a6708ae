"""Notification channel routes (our addition, /api/v1/notification_channels), served by quality-alerting."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, patch, post
from litestar.params import QueryParameter

from headwater.common.contracts.alerting import (
    DEFAULT_CHANNELS_LIMIT,
    DEFAULT_DELIVERIES_LIMIT,
    MAX_CHANNELS_LIMIT,
    MAX_DELIVERIES_LIMIT,
    NotificationChannel,
    NotificationChannelCreate,
    NotificationChannelUpdate,
    NotificationDelivery,
    NotificationTestResult,
)
from headwater.common.contracts.paths import QualityAlertingPaths as Paths
from headwater.gateway.dialects.forward import Forwarding

channels = Forwarding("to_quality_alerting", "Notifications")

ROUTES = [
    channels.route(
        post,
        Paths.NOTIFICATION_CHANNELS,
        "create",
        NotificationChannel,
        data=NotificationChannelCreate,
        summary="Create a notification channel",
        status_code=201,
        description="`kind` `slack` posts to a Slack-compatible incoming webhook; `webhook` posts the alert as "
        "JSON signed with HMAC-SHA256 of the body under `secret` (header `X-Headwater-Signature: "
        "sha256=<hex>`). `scope` `global`, `pipeline_type` (with `pipeline_type_id`) or `pipeline` (with "
        "`pipeline_id`); alerts below `min_severity` are not sent; a repeat of the same condition within "
        "`suppression_minutes` is suppressed. 409 when the name is taken, 422 on a bad field. The secret is "
        "never returned (`has_secret`); a Slack URL is shown in full only to editors and superusers. "
        "Notifications reach public addresses only, unless the operator allow-lists a receiver.",
    ),
    channels.route(
        get,
        Paths.NOTIFICATION_CHANNELS,
        "list_all",
        list[NotificationChannel],
        query={
            "limit": (Annotated[int, QueryParameter(ge=1, le=MAX_CHANNELS_LIMIT)], DEFAULT_CHANNELS_LIMIT),
            "offset": (Annotated[int, QueryParameter(ge=0)], 0),
        },
        summary="List notification channels",
        description=f"In id order, at most `limit` (default {DEFAULT_CHANNELS_LIMIT:,}, at most "
        f"{MAX_CHANNELS_LIMIT:,}) after the first `offset`.",
    ),
    channels.route(
        get, Paths.NOTIFICATION_CHANNEL, "get_one", NotificationChannel, summary="Get a notification channel"
    ),
    channels.route(
        patch,
        Paths.NOTIFICATION_CHANNEL,
        "update",
        NotificationChannel,
        data=NotificationChannelUpdate,
        summary="Change a notification channel",
        description="Only the fields sent change. A new `scope` clears the ids it does not use. Deactivating a "
        "channel gives up its pending deliveries.",
    ),
    channels.route(
        delete,
        Paths.NOTIFICATION_CHANNEL,
        "remove",
        None,
        summary="Delete a notification channel and its deliveries",
        status_code=204,
    ),
    channels.route(
        get,
        Paths.NOTIFICATION_DELIVERIES,
        "deliveries",
        list[NotificationDelivery],
        query={
            "limit": (
                Annotated[int, QueryParameter(ge=1, le=MAX_DELIVERIES_LIMIT)],
                DEFAULT_DELIVERIES_LIMIT,
            )
        },
        summary="Deliveries of a notification channel",
        description="Newest first: `status` (pending, delivered, failed, suppressed), `attempts`, `last_error`, "
        "`last_status_code`, `delivered_at`, `alert_id`.",
    ),
    channels.route(
        post,
        Paths.TEST_NOTIFICATION_CHANNEL,
        "send_test",
        NotificationTestResult,
        summary="Send a test message",
        status_code=200,
        description="Sends a test message to the channel now and answers with the receiver's status code (never "
        "its body), or the error when none answered, e.g. a destination refused because it is not a public "
        "address. Nothing is recorded.",
    ),
]
