"""Use cases of notifications: configure and test channels, list deliveries, and deliver what is due."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from prometheus_client import Counter, Gauge, Histogram

from headwater.common.contracts.types import BIGINT_MAX
from headwater.common.errors import Conflict, Duplicate, Invalid, NotFound
from headwater.common.logging import get_logger
from headwater.quality_alerting.domain.notifications import (
    CHANNEL_FIELDS,
    Attempted,
    Channel,
    Delivery,
    DueDelivery,
    InvalidChannel,
    SendResult,
    after_attempt,
    build_request,
    check_channel,
    merge_channel,
    sample_alert,
)
from headwater.quality_alerting.service_layer.ports import Sender
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

ATTEMPTS = Counter(
    "headwater_notification_attempts_total",
    "Notification send attempts, by channel kind and outcome (delivered, retry, failed)",
    ["kind", "outcome"],
)
SEND_SECONDS = Histogram(
    "headwater_notification_send_seconds",
    "Time a notification receiver took to answer (or to time out)",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PENDING = Gauge("headwater_notification_pending", "Notification deliveries waiting to be sent or retried")

DEACTIVATED = "channel was deactivated before delivery"


def _missing(channel_id: int) -> NotFound:
    return NotFound(f"Notification channel {channel_id} not found")


def _require_in_range(channel_id: int) -> None:
    if not 1 <= channel_id <= BIGINT_MAX:  # cannot exist (and would overflow a bigint)
        raise _missing(channel_id)


# -- channels ------------------------------------------------------------------------------------------------------


def _name_taken(name: object) -> Conflict:
    return Conflict(f"A notification channel named {name!r} already exists")


async def create_channel(uow: UnitOfWork, fields: Mapping[str, Any]) -> Channel:
    """Create a channel; Invalid when its fields do not fit together, Conflict when the name is taken."""
    try:
        check_channel(fields)
    except InvalidChannel as exc:
        raise Invalid(str(exc)) from exc
    async with uow:
        try:
            channel = await uow.channels.insert(fields)
        except Duplicate as exc:
            raise _name_taken(fields["name"]) from exc
        await uow.commit()
    log.info("notification_channel_created", channel_id=channel.id, kind=channel.kind, scope=channel.scope)
    return channel


async def list_channels(uow: UnitOfWork, *, limit: int, offset: int) -> list[Channel]:
    async with uow:
        return await uow.channels.list_page(limit, offset)


async def get_channel(uow: UnitOfWork, channel_id: int) -> Channel:
    _require_in_range(channel_id)
    async with uow:
        row = await uow.channels.get(channel_id)
    if row is None:
        raise _missing(channel_id)
    return row


async def update_channel(uow: UnitOfWork, channel_id: int, changes: Mapping[str, Any]) -> Channel:
    """Change the fields sent. Deactivating a channel gives up its pending deliveries (they would otherwise
    go out, perhaps much later, when it is switched back on)."""
    _require_in_range(channel_id)
    async with uow:
        locked = await uow.channels.get_with_secret(channel_id, lock=True)
        if locked is None:
            raise _missing(channel_id)
        current = msgspec.structs.asdict(locked)
        try:
            merged = merge_channel(current, changes)
        except InvalidChannel as exc:
            raise Invalid(str(exc)) from exc
        changed = {f: merged[f] for f in CHANNEL_FIELDS if merged[f] != current[f]}
        try:
            row = await uow.channels.update(channel_id, changed)
        except Duplicate as exc:
            raise _name_taken(changes.get("name")) from exc
        if row is None:
            raise _missing(channel_id)
        given_up = 0
        if changed.get("active") is False:
            given_up = await uow.deliveries.fail_pending_of_channel(channel_id, DEACTIVATED)
        await uow.commit()
    log.info(
        "notification_channel_updated",
        channel_id=channel_id,
        fields=sorted(f for f in changed if f != "secret") + (["secret"] if "secret" in changed else []),
        pending_given_up=given_up,
    )
    return row


async def delete_channel(uow: UnitOfWork, channel_id: int) -> None:
    """Delete a channel and its delivery history. A delivery being sent right now finishes first."""
    _require_in_range(channel_id)
    async with uow:
        if not await uow.channels.delete(channel_id):
            raise _missing(channel_id)
        await uow.commit()
    log.info("notification_channel_deleted", channel_id=channel_id)


async def list_deliveries(uow: UnitOfWork, channel_id: int, limit: int) -> list[Delivery]:
    """The channel's newest `limit` deliveries first."""
    _require_in_range(channel_id)
    async with uow:
        if await uow.channels.get(channel_id) is None:
            raise _missing(channel_id)
        return await uow.deliveries.list_for_channel(channel_id, limit)


async def send_test_message(uow: UnitOfWork, sender: Sender, channel_id: int) -> SendResult:
    """Send a test message to the channel now (active or not) and report what the receiver answered.
    Nothing is recorded: a test is not an alert."""
    _require_in_range(channel_id)
    async with uow:
        channel = await uow.channels.get_with_secret(channel_id)
    if channel is None:
        raise _missing(channel_id)
    now = datetime.now(UTC)
    try:
        body, headers = build_request(
            channel.kind,
            channel.secret,
            sample_alert(channel.name, now),
            delivery_id=f"test-{uuid.uuid4()}",
            timestamp=int(now.timestamp()),
        )
    except InvalidChannel as exc:
        raise Invalid(str(exc)) from exc
    result = await sender.post(channel.url, body, headers)
    log.info(
        "notification_channel_tested",
        channel_id=channel_id,
        status_code=result.status_code,
        error=result.error,
        duration=round(result.duration, 4),
    )
    return result


# -- delivering ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPolicy:
    """How notifiers deliver: up to `max_attempts` attempts per delivery, retried after a backoff growing from
    `backoff_seconds`; rounds of up to `batch_size` deliveries sent `concurrency` at a time; a notifier looks
    for due deliveries at least every `poll_interval` seconds (NOTIFY wakes it sooner)."""

    max_attempts: int
    backoff_seconds: float
    batch_size: int = 100
    concurrency: int = 20
    poll_interval: float = 5.0


async def deliver_due(uow: UnitOfWork, sender: Sender, policy: DeliveryPolicy) -> int:
    """One round of the notifier: claim up to `policy.batch_size` due deliveries, send them (`concurrency` at a
    time), record each outcome, commit; returns how many were claimed.

    The claimed rows stay locked until the commit, so concurrent notifiers never send one delivery twice.
    If the process dies after a receiver got a message but before the commit, the delivery is still pending
    with its old attempt count and is sent once more by the next round: at-least-once, and receivers can
    de-duplicate webhooks by their X-Headwater-Delivery id.
    """
    async with uow:
        due = await uow.deliveries.claim_due(policy.batch_size)
        if not due:
            return 0
        gate = asyncio.Semaphore(policy.concurrency)

        async def attempt(delivery: DueDelivery) -> Attempted:
            if not delivery.channel_active:  # deactivated while this delivery was being queued
                ATTEMPTS.labels(delivery.kind, "failed").inc()
                return Attempted(delivery.id, "failed", delivery.attempts, DEACTIVATED, None, None)
            async with gate:
                result = await send(sender, delivery)
            return record_attempt(delivery, result, policy)

        outcomes = await asyncio.gather(*(attempt(d) for d in due))
        await uow.deliveries.record(outcomes)
        await uow.commit()
    return len(due)


async def send(sender: Sender, delivery: DueDelivery) -> SendResult:
    """Post the delivery's message; an error building or sending it is a failed attempt, never raised (one
    delivery must not stall the round: it is retried, then failed)."""
    now = datetime.now(UTC)
    try:
        body, headers = build_request(
            delivery.kind,
            delivery.secret,
            delivery.alert(),
            delivery_id=str(delivery.id),
            timestamp=int(now.timestamp()),
        )
        return await sender.post(delivery.url, body, headers)
    except Exception as exc:
        log.exception("notification_send_error", delivery_id=delivery.id)
        return SendResult(status_code=None, error=f"could not send: {exc!r}")


def record_attempt(delivery: DueDelivery, result: SendResult, policy: DeliveryPolicy) -> Attempted:
    """What the attempt makes of the delivery (delivered, pending again, failed), counted and logged."""
    SEND_SECONDS.labels(delivery.kind).observe(result.duration)
    outcome = after_attempt(
        delivery.attempts, result, max_attempts=policy.max_attempts, backoff_base=policy.backoff_seconds
    )
    ATTEMPTS.labels(delivery.kind, "retry" if outcome.status == "pending" else outcome.status).inc()
    log_fields = {
        "delivery_id": delivery.id,
        "channel_id": delivery.channel_id,
        "alert_id": delivery.alert_id,
        "attempts": outcome.attempts,
        "status_code": result.status_code,
    }
    if outcome.status == "delivered":
        log.info("notification_delivered", **log_fields)
    else:
        log.warning(
            "notification_failed" if outcome.status == "failed" else "notification_retry",
            error=outcome.last_error,
            retry_in=outcome.retry_in,
            **log_fields,
        )
    return Attempted(
        delivery.id,
        outcome.status,
        outcome.attempts,
        outcome.last_error,
        outcome.last_status_code,
        outcome.retry_in,
    )


async def next_due_in(uow: UnitOfWork) -> float | None:
    """Seconds until the earliest pending delivery is due (<= 0: now), None when none is pending; also
    refreshes the pending-deliveries gauge."""
    async with uow:
        PENDING.set(await uow.deliveries.count_pending())
        return await uow.deliveries.seconds_until_next_due()
