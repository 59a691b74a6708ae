"""Controllers of notification channels: create, list, get, change, delete, their deliveries, a test send."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

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
from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.watcher import sent
from headwater.common.http import caller
from headwater.common.principal import Principal
from headwater.quality_alerting.adapters.destinations import Destinations
from headwater.quality_alerting.adapters.http_sender import HttpSender
from headwater.quality_alerting.domain.notifications import Channel, url_seen_by
from headwater.quality_alerting.entrypoints.http.deps import AppSettings, Caller, UowFactory
from headwater.quality_alerting.service_layer import notifications

Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_DELIVERIES_LIMIT, description="newest deliveries returned")
]
ChannelsLimit = Annotated[int, QueryParameter(ge=1, le=MAX_CHANNELS_LIMIT, description="most channels")]
Offset = Annotated[int, QueryParameter(ge=0, description="channels to skip")]


def _channel(channel: Channel, principal: Principal) -> NotificationChannel:
    """The channel as the caller may see it (a Slack URL masked unless it may edit the channel)."""
    fields = msgspec.structs.asdict(channel)
    fields["url"] = url_seen_by(channel.kind, channel.url, principal.role)
    return NotificationChannel(**fields)


class NotificationChannelController(Controller):
    tags = ["notifications"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @post(QualityAlertingPaths.NOTIFICATION_CHANNELS, status_code=HTTP_201_CREATED)
    async def create(
        self, data: JSONBody[NotificationChannelCreate], uow_factory: UowFactory, principal: Caller
    ) -> NotificationChannel:
        created = await notifications.create_channel(uow_factory(), msgspec.structs.asdict(data))
        return _channel(created, principal)

    @get(QualityAlertingPaths.NOTIFICATION_CHANNELS)
    async def list_all(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        limit: ChannelsLimit = DEFAULT_CHANNELS_LIMIT,
        offset: Offset = 0,
    ) -> list[NotificationChannel]:
        rows = await notifications.list_channels(uow_factory(), limit=limit, offset=offset)
        return [_channel(r, principal) for r in rows]

    @get(QualityAlertingPaths.NOTIFICATION_CHANNEL)
    async def get_one(
        self, channel_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> NotificationChannel:
        return _channel(await notifications.get_channel(uow_factory(), channel_id), principal)

    @patch(QualityAlertingPaths.NOTIFICATION_CHANNEL)
    async def update(
        self,
        channel_id: FromPath[int],
        data: JSONBody[NotificationChannelUpdate],
        uow_factory: UowFactory,
        principal: Caller,
    ) -> NotificationChannel:
        return _channel(await notifications.update_channel(uow_factory(), channel_id, sent(data)), principal)

    @delete(QualityAlertingPaths.NOTIFICATION_CHANNEL, status_code=HTTP_204_NO_CONTENT)
    async def remove(self, channel_id: FromPath[int], uow_factory: UowFactory) -> None:
        await notifications.delete_channel(uow_factory(), channel_id)

    @get(QualityAlertingPaths.NOTIFICATION_DELIVERIES)
    async def deliveries(
        self, channel_id: FromPath[int], uow_factory: UowFactory, limit: Limit = DEFAULT_DELIVERIES_LIMIT
    ) -> list[NotificationDelivery]:
        rows = await notifications.list_deliveries(uow_factory(), channel_id, limit)
        return [NotificationDelivery(**msgspec.structs.asdict(r)) for r in rows]

    @post(QualityAlertingPaths.TEST_NOTIFICATION_CHANNEL, status_code=HTTP_200_OK)
    async def send_test(
        self, channel_id: FromPath[int], uow_factory: UowFactory, settings: AppSettings
    ) -> NotificationTestResult:
        async with HttpSender(
            timeout=settings.notification_timeout_seconds,
            destinations=Destinations.parse(settings.webhook_allow),
            connections=1,
        ) as sender:
            result = await notifications.send_test_message(uow_factory(), sender, channel_id)
        return NotificationTestResult(
            delivered=result.status_code is not None and 200 <= result.status_code < 300,
            status_code=result.status_code,
            error=result.error,
            duration_ms=round(result.duration * 1000, 1),
        )


NOTIFICATION_CONTROLLERS = [NotificationChannelController]
