"""The `checks.requested` subscriber on FastStream's in-memory broker: each check goes to its handler at the
clock's time, a check without a handler is skipped, and what cannot be run is dead-lettered with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from headwater.common.errors import Invalid
from headwater.common.events import ChecksRequested, encode_event
from headwater.common.testing import FakeProducer
from headwater.quality_alerting.entrypoints.messaging import check_subscribers
from headwater.quality_alerting.entrypoints.messaging.check_subscribers import (
    CheckContext,
    register_check_subscribers,
)
from headwater.quality_alerting.settings import Settings
from headwater.quality_alerting.testing import FakeUnitOfWork

NOW = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None, datetime]]:
    """Replace the freshness and timeliness handlers by recorders; `timeliness` with lookback 1 is refused."""
    calls: list[tuple[str, int | None, datetime]] = []

    async def record(context: CheckContext, request: ChecksRequested, now: datetime) -> object:
        if request.lookback_minutes == 1:
            raise Invalid("lookback_minutes must be at least 5")
        calls.append((request.check, request.lookback_minutes, now))
        return None

    monkeypatch.setitem(check_subscribers.CHECK_HANDLERS, "freshness", record)
    monkeypatch.setitem(check_subscribers.CHECK_HANDLERS, "timeliness", record)
    monkeypatch.delitem(check_subscribers.CHECK_HANDLERS, "queue", raising=False)  # a check without a handler
    return calls


def _broker(producer: FakeProducer, prefix: str = "") -> KafkaBroker:
    broker = KafkaBroker()
    register_check_subscribers(
        broker,
        settings=Settings(topic_prefix=prefix),
        uow_factory=FakeUnitOfWork().factory,  # the handlers here never reach it
        producer=producer,  # type: ignore[arg-type]
        clock=lambda: NOW,
    )
    return broker


async def test_each_check_runs_through_its_handler_at_the_clocks_time(
    handled: list[tuple[str, int | None, datetime]],
) -> None:
    producer = FakeProducer()
    async with TestKafkaBroker(_broker(producer, "t1.")) as br:
        for request in (
            ChecksRequested(check="freshness", schedule="freshness"),
            ChecksRequested(check="timeliness", lookback_minutes=15),
            ChecksRequested(check="queue"),  # no handler here: skipped
        ):
            await br.publish(encode_event(request), topic="t1.checks.requested")
    assert handled == [("freshness", None, NOW), ("timeliness", 15, NOW)]
    assert producer.sent == []


async def test_malformed_or_refused_requests_are_dead_lettered_with_the_reason(
    handled: list[tuple[str, int | None, datetime]],
) -> None:
    producer = FakeProducer()
    refused = encode_event(ChecksRequested(check="timeliness", lookback_minutes=1))
    async with TestKafkaBroker(_broker(producer)) as br:
        await br.publish(b"{broken", topic="checks.requested")
        await br.publish(b'{"type": "checks.requested.v1"}', topic="checks.requested")  # no `check`
        await br.publish(refused, topic="checks.requested")
    assert handled == []
    assert [m["topic"] for m in producer.sent] == ["checks.requested.dlq"] * 3
    assert [m["value"] for m in producer.sent] == [
        b"{broken",
        b'{"type": "checks.requested.v1"}',
        refused,
    ]
    reasons = [m["headers"]["x-dlq-reason"] for m in producer.sent]
    assert b"check" in reasons[1]
    assert reasons[2] == b"lookback_minutes must be at least 5"
    assert producer.sent[2]["headers"]["x-dlq-error"] == b"Invalid"
    assert producer.sent[2]["headers"]["x-dlq-consumer"] == b"quality-alerting.checks"


async def test_a_check_is_retried_while_the_database_is_away(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[datetime] = []

    async def flaky(context: CheckContext, request: ChecksRequested, now: datetime) -> object:
        attempts.append(now)
        if len(attempts) == 1:
            raise ConnectionRefusedError("database away")  # an OSError: transient
        return None

    monkeypatch.setitem(check_subscribers.CHECK_HANDLERS, "freshness", flaky)
    producer = FakeProducer()
    async with TestKafkaBroker(_broker(producer)) as br:
        await br.publish(encode_event(ChecksRequested(check="freshness")), topic="checks.requested")
    assert attempts == [NOW, NOW]
    assert producer.sent == []
