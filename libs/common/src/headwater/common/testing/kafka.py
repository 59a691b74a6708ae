"""Reading what reached a topic, and producing raw messages, for tests against a real broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    def json(self) -> Any:
        return msgspec.json.decode(self.value)


class TopicCollector:
    """Collects every message of some topics from the moment `start()` returns (or from the beginning)."""

    def __init__(self, bootstrap: str, topics: Sequence[str], *, from_beginning: bool = False) -> None:
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._from_beginning = from_beginning
        self.messages: list[Received] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Condition()

    async def start(self) -> TopicCollector:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await consumer.start()
        partitions: list[TopicPartition] = []
        for topic in self._topics:
            for _ in range(100):
                found = consumer.partitions_for_topic(topic)
                if found:
                    break
                await consumer._client.force_metadata_update()  # learn topics created after start
                await asyncio.sleep(0.05)
            partitions += [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        consumer.assign(partitions)
        if self._from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            ends = await consumer.end_offsets(partitions)
            for tp, offset in ends.items():
                consumer.seek(tp, offset)
        self._consumer = consumer
        self._task = asyncio.create_task(self._pump())
        return self

    async def _pump(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            except KafkaError:  # a slow broker (a fetch timed out): the consumer resumes from its position
                await asyncio.sleep(0.1)
                continue
            if not batches:
                continue
            async with self._arrived:
                for records in batches.values():
                    self.messages.extend(
                        Received(r.topic, r.partition, r.offset, r.key, r.value or b"", dict(r.headers or ()))
                        for r in records
                    )
                self._arrived.notify_all()

    async def wait_for(
        self,
        predicate: Callable[[Received], bool],
        *,
        count: int = 1,
        timeout: float = 20.0,
        distinct: Callable[[Received], object] | None = None,
    ) -> list[Received]:
        """Wait until at least `count` collected messages satisfy `predicate` — or, with `distinct`, until they
        carry `count` distinct keys (at-least-once delivery repeats messages after a crash); return them."""

        def matching() -> list[Received]:
            return [m for m in self.messages if predicate(m)]

        def found() -> int:
            hits = matching()
            return len(hits) if distinct is None else len({distinct(m) for m in hits})

        async def until() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: found() >= count)

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{found()} of {count} expected messages arrived within {timeout}s"
            ) from None
        return matching()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            try:
                await self._consumer.stop()
            except asyncio.CancelledError:
                # aiokafka's fetcher lets a fetch it cancels on a slow broker escape as CancelledError; only a
                # cancellation of this task itself is ours to pass on
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise


async def produce(
    bootstrap: str,
    topic: str,
    messages: Sequence[tuple[bytes | None, bytes]],
    headers: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Publish (key, value) pairs to `topic` and wait for the broker's acknowledgement of all of them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k, headers=list(headers)) for k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@dataclass
class FakeProducer:
    """Stands in for `AIOKafkaProducer.send` in unit tests: keeps what was sent, acknowledges at once."""

    sent: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    async def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Any:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or ())})

        async def acknowledged() -> None:
            return None

        return acknowledged()
