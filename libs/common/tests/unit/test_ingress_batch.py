"""`IngressBatch.handle` on fakes: a message the use case keeps failing on is split out of its batch and
dead-lettered, the rest recorded; a database that is away leaves the whole batch to be redelivered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import pytest
from prometheus_client import CollectorRegistry, Counter

from headwater.common.errors import Invalid
from headwater.common.messaging.batch import POISON_ATTEMPTS, IngressBatch
from headwater.common.retry import Backoff, retry
from headwater.common.testing import FakeProducer


@dataclass
class Record:
    value: bytes
    topic: str = "pipeline.changed"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait no time here."""

    async def immediate(call: Callable[[], Awaitable[Any]], **kwargs: Any) -> Any:
        return await retry(call, **{**kwargs, "backoff": Backoff(base=0, cap=0)})

    monkeypatch.setattr("headwater.common.messaging.batch.retry", immediate)


def make_batch(record: Callable[[Any, list[str]], Awaitable[Sequence[Any]]]) -> IngressBatch[str]:
    counter = Counter("t", "t", ["outcome"], registry=CollectorRegistry())
    return IngressBatch[str](
        consumer="test", counter=counter, decode=msgspec.json.decode, record=record, event_id=str
    )


async def test_a_poison_message_is_split_out_after_bounded_attempts_and_the_rest_recorded() -> None:
    recorded: list[str] = []
    attempts: list[list[str]] = []

    async def record(uow: object, items: list[str]) -> list[object]:
        attempts.append(items)
        if "poison" in items:
            raise KeyError("a bug this message triggers")
        if "refused" in items:
            raise Invalid("refused alone")
        recorded.extend(items)
        return []

    names = ["a", "b", "poison", "c", "d", "refused", "e"]
    producer = FakeProducer()
    await make_batch(record).handle(
        [Record(msgspec.json.encode(n), offset=i) for i, n in enumerate(names)],  # type: ignore[arg-type]
        lambda: None,
        producer,  # type: ignore[arg-type]
    )

    assert sorted(recorded) == ["a", "b", "c", "d", "e"]
    assert (
        attempts[:POISON_ATTEMPTS] == [names] * POISON_ATTEMPTS
    )  # the whole batch, a bounded number of times
    assert len(attempts) < POISON_ATTEMPTS + 2 * len(names)  # then halves, not forever
    letters = {m["value"]: m["headers"] for m in producer.sent}
    assert set(letters) == {b'"poison"', b'"refused"'}
    assert b"KeyError" in letters[b'"poison"']["x-dlq-reason"]
    assert letters[b'"refused"']["x-dlq-reason"] == b"refused alone"
    assert {m["topic"] for m in producer.sent} == {"pipeline.changed.dlq"}


async def test_a_database_that_stays_away_leaves_the_batch_to_be_redelivered() -> None:
    async def record(uow: object, items: list[str]) -> list[object]:
        raise asyncpg.CannotConnectNowError("starting up")

    producer = FakeProducer()
    with pytest.raises(asyncpg.CannotConnectNowError):
        await make_batch(record).handle(
            [Record(b'"a"'), Record(b'"b"')],  # type: ignore[list-item]
            lambda: None,
            producer,  # type: ignore[arg-type]
        )
    assert producer.sent == []
