"""The relay's send on a fake producer: the broker refuses a whole produce batch for one record over its limit,
so the relay sends the refused records again alone and reports only the one refused alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from headwater.common.messaging.relay import OutboxRelay

LIMIT = 100


class BatchingBroker:
    """Acknowledges records sent one at a time on their own; a burst (sent before the first is awaited) is one
    produce batch, refused whole when one of its records is over `LIMIT` — as a Kafka broker does."""

    def __init__(self, error: type[Exception] = MessageSizeTooLargeError) -> None:
        self.burst: list[tuple[bytes, asyncio.Future[object]]] = []
        self.error = error
        self.sent: list[bytes] = []

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.burst.append((value, future))
        asyncio.get_running_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        burst, self.burst = self.burst, []
        refused = any(len(v) > LIMIT for v, _ in burst)
        for value, future in burst:
            if refused:
                future.set_exception(self.error())
            else:
                self.sent.append(value)
                future.set_result(None)


def row(id_: int, payload: bytes) -> dict[str, Any]:
    return {
        "id": id_,
        "topic": "execution.started",
        "key": "1",
        "event_type": "execution.started.v1",
        "event_id": f"e{id_}",
        "payload": payload,
        "headers": "{}",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }


def relay(producer: BatchingBroker) -> OutboxRelay:
    return OutboxRelay(dsn="unused", schema="s", producer=producer, source="test")  # type: ignore[arg-type]


async def test_only_the_record_refused_alone_is_reported() -> None:
    broker = BatchingBroker()
    rows = [row(1, b"small"), row(2, b"x" * (LIMIT + 1)), row(3, b"small too")]
    refused = await relay(broker)._send(rows)  # type: ignore[arg-type]
    assert set(refused) == {2}
    assert isinstance(refused[2], MessageSizeTooLargeError)
    assert broker.sent == [b"small", b"small too"]


async def test_any_other_failure_leaves_the_claim_unsent() -> None:
    with pytest.raises(KafkaConnectionError):
        await relay(BatchingBroker(KafkaConnectionError))._send([row(1, b"x" * (LIMIT + 1))])  # type: ignore[arg-type]
