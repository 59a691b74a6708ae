"""Notifications, pure: channels and deliveries as stored, channel rules, Slack and webhook messages, the webhook
signature, retries and backoff."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import msgspec

from headwater.common.contracts.alerting import NotificationChannel, NotificationDelivery

# -- channels ------------------------------------------------------------------------------------------------------


class Channel(NotificationChannel, frozen=True, kw_only=True):
    """A stored notification channel as the API shows it: whether a secret is set, never the secret."""


class ChannelWithSecret(Channel, frozen=True, kw_only=True):
    """A channel with its secret: for sending, and for merging a change."""

    secret: str | None


SCOPE_IDS = {"global": (), "pipeline_type": ("pipeline_type_id",), "pipeline": ("pipeline_id",)}
MIN_SECRET_LENGTH = 16
# What a channel's creator sets and a change may change.
CHANNEL_FIELDS = (
    "name",
    "kind",
    "url",
    "secret",
    "scope",
    "pipeline_type_id",
    "pipeline_id",
    "min_severity",
    "suppression_minutes",
    "active",
)


class InvalidChannel(ValueError):
    """A channel whose fields contradict each other (e.g. a webhook without a secret)."""


def check_channel(channel: Mapping[str, Any]) -> None:
    """Raise InvalidChannel unless the channel's fields fit together; field types and bounds are the
    contract's job, this checks what one field says about another, and the URL."""
    check_url(channel["url"])
    if channel["kind"] == "webhook" and not channel.get("secret"):
        raise InvalidChannel(f"a webhook channel needs a secret of at least {MIN_SECRET_LENGTH} characters")
    scope = channel.get("scope", "global")
    for id_field in ("pipeline_type_id", "pipeline_id"):
        needed = id_field in SCOPE_IDS[scope]
        if needed and channel.get(id_field) is None:
            raise InvalidChannel(f"scope {scope!r} needs {id_field}")
        if not needed and channel.get(id_field) is not None:
            raise InvalidChannel(f"{id_field} is only for scope {id_field.removesuffix('_id')!r}")


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidChannel(f"url must be an absolute http(s) URL, got {url!r}")


# Who may change channels (the gateway's `write` permission) and so see a Slack channel's URL in full.
CHANNEL_EDITORS = frozenset({"superuser", "editor"})


def url_seen_by(kind: str, url: str, role: str) -> str:
    """A channel's URL as a principal of `role` may see it. A Slack incoming-webhook URL is a bearer secret
    (whoever holds it posts to the channel): who may not edit the channel sees only its scheme and host."""
    if kind != "slack" or role in CHANNEL_EDITORS:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/***"


def merge_channel(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The channel after a PATCH. A new scope drops the ids the new scope does not use, unless sent."""
    merged = {**current, **changes}
    if "scope" in changes and changes["scope"] != current.get("scope"):
        for id_field in ("pipeline_type_id", "pipeline_id"):
            if id_field not in changes and id_field not in SCOPE_IDS[changes["scope"]]:
                merged[id_field] = None
    check_channel(merged)
    return merged


# -- messages ------------------------------------------------------------------------------------------------------

SEVERITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}
TITLES = {
    "anomaly": "Anomaly detected",
    "freshness": "Stale pipeline",
    "timeliness": "Late execution",
    "queue_backlog": "Queue backlog",
    "test": "Test notification",
}
ALERT_FIELDS = (
    "id",
    "alert_type",
    "severity",
    "pipeline_id",
    "pipeline_name",
    "pipeline_type_id",
    "execution_id",
    "msg",
    "body",
    "condition_key",
    "created_at",
)


def sample_alert(channel_name: str, now: datetime) -> dict[str, Any]:
    """The alert a test send carries: clearly a test, at the lowest severity."""
    return {
        "id": 0,
        "alert_type": "test",
        "severity": "info",
        "pipeline_id": None,
        "pipeline_name": None,
        "pipeline_type_id": None,
        "execution_id": None,
        "msg": f"Test notification from Headwater to channel {channel_name!r}. It works.",
        "body": {},
        "condition_key": "test",
        "created_at": now,
    }


def title(alert: Mapping[str, Any]) -> str:
    kind = TITLES.get(alert["alert_type"], str(alert["alert_type"]).replace("_", " ").capitalize())
    where = f": {alert['pipeline_name']}" if alert.get("pipeline_name") else ""
    return f"[{str(alert['severity']).upper()}] {kind}{where}"


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions): user text must not trigger a <!channel>.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` for notifications and clients without blocks, `blocks` for
    the layout (header, message, fields, context), each within Slack's size limits."""
    emoji = SEVERITY_EMOJI.get(alert["severity"], "")
    heading = title(alert)
    msg = _slack_escape(str(alert["msg"]))
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{alert['severity']}"},
        {"type": "mrkdwn", "text": f"*Type*\n{alert['alert_type']}"},
    ]
    if alert.get("pipeline_id") is not None:
        name = _slack_escape(str(alert.get("pipeline_name") or ""))
        fields.append({"type": "mrkdwn", "text": f"*Pipeline*\n{name} (id {alert['pipeline_id']})".strip()})
    if alert.get("execution_id") is not None:
        fields.append({"type": "mrkdwn", "text": f"*Execution*\n{alert['execution_id']}"})
    created_at = alert.get("created_at")
    when = created_at.isoformat() if isinstance(created_at, datetime) else str(created_at or "")
    return {
        "text": f"{emoji} {_slack_escape(heading)}: {msg}".strip()[:3000],
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{emoji} {heading}"[:150], "emoji": True},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": msg[:3000] or " "}},
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Headwater alert {alert['id']} · raised {when}"}],
            },
        ],
    }


def webhook_body(alert: Mapping[str, Any], *, delivery_id: str, timestamp: int) -> bytes:
    """The JSON a webhook receives, as the exact bytes that are signed. `delivery_id` and `timestamp` repeat
    the X-Headwater-Delivery and X-Headwater-Timestamp headers inside the signed body, so a receiver can trust
    them (replay check, de-duplication of a re-sent delivery)."""
    payload: dict[str, Any] = {
        "event": "test" if alert["alert_type"] == "test" else "alert.raised",
        "delivery_id": delivery_id,
        "timestamp": timestamp,
        "alert": {f: alert.get(f) for f in ALERT_FIELDS if f != "body"}
        | {"details": alert.get("body") or {}},
    }
    return msgspec.json.encode(payload)


SIGNATURE_HEADER = "X-Headwater-Signature"
TIMESTAMP_HEADER = "X-Headwater-Timestamp"
DELIVERY_HEADER = "X-Headwater-Delivery"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature_header: str) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature_header.strip())


def webhook_headers(secret: str, body: bytes, *, delivery_id: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
    }


def build_request(
    kind: str, secret: str | None, alert: Mapping[str, Any], *, delivery_id: str, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    """The body and headers to POST for `alert` on a channel of `kind`: a Slack message, or the signed
    webhook JSON."""
    if kind == "slack":
        return msgspec.json.encode(slack_payload(alert)), {"Content-Type": "application/json"}
    if not secret:
        raise InvalidChannel("a webhook channel needs a secret")
    body = webhook_body(alert, delivery_id=delivery_id, timestamp=timestamp)
    return body, webhook_headers(secret, body, delivery_id=delivery_id, timestamp=timestamp)


# -- deliveries ----------------------------------------------------------------------------------------------------


class Delivery(NotificationDelivery, frozen=True, kw_only=True):
    """A stored delivery of an alert to a channel (`pending`, `delivered`, `failed` or `suppressed`): the fields
    the API answers with."""


class DueDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery claimed for sending, with its channel and its alert."""

    id: int
    channel_id: int
    alert_id: int
    attempts: int
    channel_name: str
    kind: str
    url: str
    secret: str | None
    channel_active: bool
    alert_type: str
    severity: str
    pipeline_id: int | None
    pipeline_name: str | None
    pipeline_type_id: int | None
    execution_id: int | None
    msg: str
    body: dict[str, Any]
    condition_key: str
    created_at: datetime

    def alert(self) -> dict[str, Any]:
        """The alert the message is about, as `build_request` reads it."""
        return {f: self.alert_id if f == "id" else getattr(self, f) for f in ALERT_FIELDS}


@dataclass(frozen=True)
class Attempted:
    """A claimed delivery after its attempt. `retry_in` (seconds) while it stays pending."""

    delivery_id: int
    status: str  # delivered | pending | failed
    attempts: int
    last_error: str | None
    last_status_code: int | None
    retry_in: float | None


# -- sending, retrying ---------------------------------------------------------------------------------------------

MAX_BACKOFF_SECONDS = 3600.0
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt came to: the receiver's status, or the error when none answered."""

    status_code: int | None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503 Retry-After)
    duration: float = 0.0
    refused: bool = (
        False  # never sent: the URL's host is not an allowed destination (retrying changes nothing)
    )


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # network error, timeout, 408, 429, 5xx
    PERMANENT = "permanent"  # any other answer, or a refused destination: retrying would not change it


def classify(result: SendResult) -> Verdict:
    code = result.status_code
    if result.refused:
        return Verdict.PERMANENT
    if code is None or code in (408, 429) or code >= 500:
        return Verdict.RETRY
    if 200 <= code < 300:
        return Verdict.DELIVERED
    return Verdict.PERMANENT  # 4xx, and 1xx/3xx (redirects are not followed)


def describe_failure(result: SendResult) -> str:
    if result.status_code is None:
        text = result.error or "no answer"
    else:
        text = f"HTTP {result.status_code}" + (f": {result.error}" if result.error else "")
    return text[:MAX_ERROR_LENGTH]


def backoff_seconds(failures: int, base: float) -> float:
    """The wait after the `failures`-th failed attempt: base, 2·base, 4·base, ..., at most an hour."""
    return min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class DeliveryOutcome:
    """How a delivery row changes after an attempt. `retry_in` (seconds) is set while it stays pending."""

    status: str  # delivered | pending | failed
    attempts: int
    last_error: str | None
    last_status_code: int | None
    retry_in: float | None = None


def after_attempt(
    attempts_before: int, result: SendResult, *, max_attempts: int, backoff_base: float
) -> DeliveryOutcome:
    """The delivery after this attempt: delivered, pending again after the backoff (the receiver's
    Retry-After when longer), or failed once permanent or after the last allowed attempt."""
    attempts = attempts_before + 1
    verdict = classify(result)
    if verdict is Verdict.DELIVERED:
        return DeliveryOutcome("delivered", attempts, None, result.status_code)
    error = describe_failure(result)
    if verdict is Verdict.PERMANENT or attempts >= max_attempts:
        return DeliveryOutcome("failed", attempts, error, result.status_code)
    wait = backoff_seconds(attempts, backoff_base)
    if result.retry_after is not None:
        wait = min(MAX_BACKOFF_SECONDS, max(wait, result.retry_after))
    return DeliveryOutcome("pending", attempts, error, result.status_code, retry_in=wait)
