"""Alerting (our addition): notification channels, their deliveries and test sends, under /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from headwater.common.contracts.types import NAMED, STORABLE, Id

ChannelName = Annotated[str, Meta(min_length=1, max_length=150, pattern=NAMED)]
ChannelKind = Literal["slack", "webhook"]
ChannelScope = Literal["global", "pipeline_type", "pipeline"]
Severity = Literal["info", "warning", "critical"]
Url = Annotated[str, Meta(min_length=1, max_length=2000, pattern=STORABLE)]
Secret = Annotated[str, Meta(min_length=16, max_length=500, pattern=STORABLE)]
SuppressionMinutes = Annotated[int, Meta(ge=0, le=525_600)]  # at most a year

DEFAULT_DELIVERIES_LIMIT = 100
MAX_DELIVERIES_LIMIT = 1000
DEFAULT_CHANNELS_LIMIT = 1000  # channels listed per page, in id order
MAX_CHANNELS_LIMIT = 10_000


class NotificationChannelCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """A channel to notify. `kind` `slack` posts to a Slack-compatible incoming webhook; `webhook` posts the
    alert as JSON signed with HMAC-SHA256 of the body under `secret` (required for webhooks, >= 16 chars).
    `scope` `pipeline_type` needs `pipeline_type_id`, `pipeline` needs `pipeline_id`. Alerts below
    `min_severity` are not sent; a repeat of the same condition within `suppression_minutes` is suppressed."""

    name: ChannelName
    kind: ChannelKind
    url: Url
    secret: Secret | None = None
    scope: ChannelScope = "global"
    pipeline_type_id: Id | None = None
    pipeline_id: Id | None = None
    min_severity: Severity = "info"
    suppression_minutes: SuppressionMinutes = 60
    active: bool = True


class NotificationChannelUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change. Changing `scope` clears the ids the new scope does not use; `secret: null`
    removes the secret (refused for webhooks)."""

    name: ChannelName | UnsetType = UNSET
    kind: ChannelKind | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    secret: Secret | UnsetType | None = UNSET
    scope: ChannelScope | UnsetType = UNSET
    pipeline_type_id: Id | UnsetType | None = UNSET
    pipeline_id: Id | UnsetType | None = UNSET
    min_severity: Severity | UnsetType = UNSET
    suppression_minutes: SuppressionMinutes | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class NotificationChannel(Struct, frozen=True, kw_only=True):
    """A channel as the API shows it: the secret itself is never returned, only whether one is set."""

    id: int
    name: str
    kind: str
    url: str
    has_secret: bool
    scope: str
    pipeline_type_id: int | None
    pipeline_id: int | None
    min_severity: str
    suppression_minutes: int
    active: bool
    created_at: datetime
    updated_at: datetime | None


class NotificationDelivery(Struct, frozen=True, kw_only=True):
    """One alert sent (or to be sent) to one channel. `status`: `pending` (waiting for its next attempt),
    `delivered`, `failed` (permanently, or after the last attempt) or `suppressed` (a repeat of the same
    condition within the channel's suppression window; never sent)."""

    id: int
    channel_id: int
    alert_id: int
    condition_key: str
    status: str
    attempts: int
    last_error: str | None
    last_status_code: int | None
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime


class NotificationTestResult(Struct, kw_only=True):
    """The outcome of a test message sent synchronously: `delivered` when the receiver answered 2xx."""

    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: float
