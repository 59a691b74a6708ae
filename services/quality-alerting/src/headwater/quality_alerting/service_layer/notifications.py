"""Use cases of notifications: configure and test channels, list deliveries, and deliver what is due."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import RowMapping

from headwater.common.logging import get_logger
from headwater.quality_alerting.adapters.db import channels, deliveries
from headwater.quality_alerting.domain.notifications import (
    InvalidChannel,
    SendResult,
    after_attempt,
    build_request,
    check_channel,
    merge_channel,
    sample_alert,
)
from headwater.quality_alerting.service_layer.errors import Conflict, Invalid, NotFound
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

BIGINT_MAX = 2**63 - 1

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


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...


def _missing(channel_id: int) -> NotFound:
    return NotFound(f"Notification channel {channel_id} not found")


def _in_range(channel_id: int) -> bool:
    return 1 <= channel_id <= BIGINT_MAX  # anything else cannot exist (and would overflow a bigint)


# -- channels ------------------------------------------------------------------------------------------------------


async def create_channel(uow: UnitOfWork, fields: Mapping[str, Any]) -> RowMapping:
    """Create a channel; Invalid when its fields do not fit together, Conflict when the name is taken."""
    try:
        check_channel(fields)
    except InvalidChannel as exc:
        raise Invalid(str(exc)) from exc
    async with uow:
        row = await channels.insert(uow.conn, fields)
        if row is None:
            raise Conflict(f"A notification channel named {fields['name']!r} already exists")
        await uow.commit()
    log.info("notification_channel_created", channel_id=row["id"], kind=row["kind"], scope=row["scope"])
    return row


async def list_channels(uow: UnitOfWork) -> list[RowMapping]:
    async with uow:
        return await channels.list_all(uow.conn)


async def get_channel(uow: UnitOfWork, channel_id: int) -> RowMapping:
    if not _in_range(channel_id):
        raise _missing(channel_id)
    async with uow:
        row = await channels.get(uow.conn, channel_id)
    if row is None:
        raise _missing(channel_id)
    return row


async def update_channel(uow: UnitOfWork, channel_id: int, changes: Mapping[str, Any]) -> RowMapping:
    """Change the fields sent. Deactivating a channel gives up its pending deliveries (they would otherwise
    go out, perhaps much later, when it is switched back on)."""
    if not _in_range(channel_id):
        raise _missing(channel_id)
    async with uow:
        current = await channels.get_with_secret(uow.conn, channel_id, lock=True)
        if current is None:
            raise _missing(channel_id)
        try:
            merged = merge_channel(dict(current), changes)
        except InvalidChannel as exc:
            raise Invalid(str(exc)) from exc
        changed = {f: merged[f] for f in channels.WRITABLE if merged[f] != current[f]}
        try:
            row = await channels.update(uow.conn, channel_id, changed)
        except channels.DuplicateName as exc:
            raise Conflict(f"A notification channel named {changes.get('name')!r} already exists") from exc
        if row is None:
            raise _missing(channel_id)
        given_up = 0
        if changed.get("active") is False:
            given_up = await deliveries.fail_pending_of_channel(
                uow.conn, channel_id, "channel was deactivated before delivery"
            )
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
    if not _in_range(channel_id):
        raise _missing(channel_id)
    async with uow:
        if not await channels.delete(uow.conn, channel_id):
            raise _missing(channel_id)
        await uow.commit()
    log.info("notification_channel_deleted", channel_id=channel_id)


async def list_deliveries(uow: UnitOfWork, channel_id: int, limit: int) -> list[RowMapping]:
    """The channel's newest `limit` deliveries first."""
    if not _in_range(channel_id):
        raise _missing(channel_id)
    async with uow:
        if await channels.get(uow.conn, channel_id) is None:
            raise _missing(channel_id)
        return await deliveries.list_for_channel(uow.conn, channel_id, limit)


async def send_test_message(uow: UnitOfWork, sender: Sender, channel_id: int) -> SendResult:
    """Send a test message to the channel now (active or not) and report what the receiver answered.
    Nothing is recorded: a test is not an alert."""
    if not _in_range(channel_id):
        raise _missing(channel_id)
    async with uow:
        channel = await channels.get_with_secret(uow.conn, channel_id)
    if channel is None:
        raise _missing(channel_id)
    now = datetime.now(UTC)
    try:
        body, headers = build_request(
            channel["kind"],
            channel["secret"],
            sample_alert(channel["name"], now),
            delivery_id=f"test-{uuid.uuid4()}",
            timestamp=int(now.timestamp()),
        )
    except InvalidChannel as exc:
        raise Invalid(str(exc)) from exc
    result = await sender.post(channel["url"], body, headers)
    log.info(
        "notification_channel_tested",
        channel_id=channel_id,
        status_code=result.status_code,
        error=result.error,
        duration=round(result.duration, 4),
    )
    return result


# -- delivering ----------------------------------------------------------------------------------------------------


async def deliver_due(
    uow: UnitOfWork,
    sender: Sender,
    *,
    max_attempts: int,
    backoff_seconds: float,
    batch_size: int = 100,
    concurrency: int = 20,
) -> int:
    """One round of the notifier: claim up to `batch_size` due deliveries, send them (`concurrency` at a
    time), record each outcome, commit; returns how many were claimed.

    The claimed rows stay locked until the commit, so concurrent notifiers never send one delivery twice.
    If the process dies after a receiver got a message but before the commit, the delivery is still pending
    with its old attempt count and is sent once more by the next round: at-least-once, and receivers can
    de-duplicate webhooks by their X-Headwater-Delivery id.
    """
    async with uow:
        rows = await deliveries.claim_due(uow.conn, batch_size)
        if not rows:
            return 0
        gate = asyncio.Semaphore(concurrency)

        async def attempt(row: RowMapping) -> deliveries.Attempted:
            if not row["channel_active"]:  # deactivated while this delivery was being queued
                ATTEMPTS.labels(row["kind"], "failed").inc()
                return deliveries.Attempted(
                    row["id"],
                    "failed",
                    row["attempts"],
                    "channel was deactivated before delivery",
                    None,
                    None,
                )
            now = datetime.now(UTC)
            try:
                body, headers = build_request(
                    row["kind"],
                    row["secret"],
                    {**row, "id": row["alert_id"]},
                    delivery_id=str(row["id"]),
                    timestamp=int(now.timestamp()),
                )
                async with gate:
                    result = await sender.post(row["url"], body, headers)
            except Exception as exc:  # never let one delivery stall the round: it is retried, then failed
                log.exception("notification_send_error", delivery_id=row["id"])
                result = SendResult(status_code=None, error=f"could not send: {exc!r}")
            SEND_SECONDS.labels(row["kind"]).observe(result.duration)
            outcome = after_attempt(
                row["attempts"], result, max_attempts=max_attempts, backoff_base=backoff_seconds
            )
            ATTEMPTS.labels(row["kind"], "retry" if outcome.status == "pending" else outcome.status).inc()
            log_fields = {
                "delivery_id": row["id"],
                "channel_id": row["channel_id"],
                "alert_id": row["alert_id"],
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
            return deliveries.Attempted(
                row["id"],
                outcome.status,
                outcome.attempts,
                outcome.last_error,
                outcome.last_status_code,
                outcome.retry_in,
            )

        outcomes = await asyncio.gather(*(attempt(r) for r in rows))
        await deliveries.record(uow.conn, outcomes)
        await uow.commit()
    return len(rows)


async def next_due_in(uow: UnitOfWork) -> float | None:
    """Seconds until the earliest pending delivery is due (<= 0: now), None when none is pending; also
    refreshes the pending-deliveries gauge."""
    async with uow:
        PENDING.set(await deliveries.count_pending(uow.conn))
        return await deliveries.seconds_until_next_due(uow.conn)
