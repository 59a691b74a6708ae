"""The `checks.requested` subscriber: runs the check a request names, through the handler registered for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from headwater.common.db.errors import is_transient
from headwater.common.errors import UseCaseError
from headwater.common.events import ChecksRequested, decode_event
from headwater.common.logging import get_logger
from headwater.common.messaging.broker import Record, raw_body
from headwater.common.messaging.dlq import dead_letter
from headwater.common.messaging.topics import parse_consumer_groups, prefixed
from headwater.common.retry import retry
from headwater.quality_alerting.adapters.kafka_lag import consumer_lag
from headwater.quality_alerting.service_layer.checks import (
    DEFAULT_LOOKBACK_MINUTES,
    check_freshness,
    check_timeliness,
)
from headwater.quality_alerting.service_layer.queue_monitor import monitor_queue
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.quality_alerting.settings import Settings

log = get_logger(__name__)

CONSUMER = "quality-alerting.checks"
RETRIES = 5

CHECKS_REQUESTED = Counter(
    "headwater_checks_requested_total", "checks.requested messages consumed", ["check", "outcome"]
)


@dataclass(frozen=True)
class CheckContext:
    """What a check handler may need besides the request: the service's settings, units of work, a producer."""

    settings: Settings
    uow_factory: UnitOfWorkFactory
    producer: AIOKafkaProducer


# A handler runs one requested check at `now`; what it returns is logged.
CheckHandler = Callable[[CheckContext, ChecksRequested, datetime], Awaitable[object]]


async def run_freshness_check(context: CheckContext, request: ChecksRequested, now: datetime) -> object:
    return await check_freshness(context.uow_factory(), now)


async def run_timeliness_check(context: CheckContext, request: ChecksRequested, now: datetime) -> object:
    lookback = DEFAULT_LOOKBACK_MINUTES if request.lookback_minutes is None else request.lookback_minutes
    return await check_timeliness(context.uow_factory(), now, lookback)


async def run_queue_monitor(context: CheckContext, request: ChecksRequested, now: datetime) -> object:
    settings = context.settings
    groups = parse_consumer_groups(settings.monitored_consumer_groups)

    async def read_lag() -> dict[str, int]:
        return await consumer_lag(
            settings.kafka_bootstrap_servers, groups, topic_prefix=settings.topic_prefix
        )

    return await monitor_queue(
        context.uow_factory(),
        read_lag,
        now,
        warning=settings.queue_warning_threshold,
        critical=settings.queue_critical_threshold,
    )


# THE branch point: check name -> handler. A check without a handler here (e.g. `queue` until its handler is
# added) is acknowledged and skipped with a log line, so a newer scheduler never blocks this consumer.
CHECK_HANDLERS: dict[str, CheckHandler] = {
    "freshness": run_freshness_check,
    "timeliness": run_timeliness_check,
    "queue": run_queue_monitor,
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def handle_checks_requested(
    record: ConsumerRecord[bytes, bytes], context: CheckContext, clock: Callable[[], datetime] = _utc_now
) -> None:
    """Decode the request and run its check at the current time.

    A message that does not decode, or that the check refuses (a use-case error) or fails on for a reason other
    than an unreachable database, is dead-lettered. While the database is away the check is retried a few times,
    then the error propagates so the message is redelivered. Redelivery is harmless: checks are idempotent.
    """
    try:
        request = decode_event(record.value or b"", ChecksRequested)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        CHECKS_REQUESTED.labels("unknown", "dead_lettered").inc()
        await dead_letter(
            context.producer, record, consumer=CONSUMER, reason=str(exc), error=type(exc).__name__
        )
        return
    handler = CHECK_HANDLERS.get(request.check)
    with structlog.contextvars.bound_contextvars(event_id=str(request.event_id), check=request.check):
        if handler is None:
            CHECKS_REQUESTED.labels(request.check[:40], "not_handled").inc()
            log.info("check_not_handled", schedule=request.schedule)
            return
        try:
            outcome = await retry(
                lambda: handler(context, request, clock()),
                attempts=RETRIES,
                retry_if=is_transient,
                event="check_retry",
            )
        except Exception as exc:
            if is_transient(exc):
                raise  # the database is away: leave the message to be redelivered
            CHECKS_REQUESTED.labels(request.check, "dead_lettered").inc()
            reason = exc.detail if isinstance(exc, UseCaseError) else repr(exc)
            if not isinstance(exc, UseCaseError):
                log.exception("check_failed")
            await dead_letter(
                context.producer, record, consumer=CONSUMER, reason=reason, error=type(exc).__name__
            )
            return
        CHECKS_REQUESTED.labels(request.check, "checked").inc()
        log.info("check_requested_done", schedule=request.schedule, outcome=repr(outcome))


def register_check_subscribers(
    broker: KafkaBroker,
    *,
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    producer: AIOKafkaProducer,
    clock: Callable[[], datetime] = _utc_now,
) -> None:
    context = CheckContext(settings=settings, uow_factory=uow_factory, producer=producer)

    @broker.subscriber(
        prefixed(settings.topic_prefix, "checks.requested"),
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )
    async def on_checks_requested_run_check(record: Record) -> None:
        """Run the requested check (freshness, timeliness, ...); the offset is committed after it. No inbox is
        needed: a check logs and alerts each violation once, so a redelivered request changes nothing."""
        await handle_checks_requested(record, context, clock)
