"""Follow topics from their current end, handing every new record and its arrival time to a callback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Self

from aiokafka import AIOKafkaConsumer, TopicPartition

OnRecord = Callable[[str, bytes, float], None]
"""Called with (topic, value, arrival time on the `time.perf_counter` clock) for each record."""


class TopicTail:
    """A consumer without a group, manually assigned to every partition of `topics` at their end offsets.

    No group means no rebalance delays and no committed offsets left behind; the end offsets are resolved
    before `__aenter__` returns, so every record produced afterwards is seen. Records are handed over as
    fetched batches, all stamped with the batch's arrival time.

    `fetch_max_wait_ms` is short on purpose: the dev broker (tansu) does not answer a waiting fetch as soon as
    records arrive, so the wait adds to every measured delay (at 500 ms, the default, the p50 end→event delay
    read ~140 ms; at 50 ms ~10 ms; at 10 ms ~5 ms, but the broker then burns noticeably more CPU).
    """

    def __init__(self, bootstrap: str, topics: Sequence[str], on_record: OnRecord) -> None:
        self._topics = tuple(topics)
        self._on_record = on_record
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="headwater-bench",
            fetch_max_wait_ms=50,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        try:
            available = await self._consumer.topics()
            partitions: list[TopicPartition] = []
            for topic in self._topics:
                if topic not in available:
                    raise RuntimeError(f"topic {topic!r} does not exist: is the system up, with this prefix?")
                ids = self._consumer.partitions_for_topic(topic) or set()
                partitions += [TopicPartition(topic, p) for p in sorted(ids)]
            self._consumer.assign(partitions)
            await self._consumer.seek_to_end(*partitions)
            for tp in partitions:  # resolve the end offsets now, not at the first fetch
                await self._consumer.position(tp)
        except BaseException:
            await self._consumer.stop()
            raise
        self._task = asyncio.create_task(self._follow(), name="bench-topic-tail")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            arrived = time.perf_counter()
            for tp, records in batches.items():
                for record in records:
                    self._on_record(tp.topic, record.value or b"", arrived)
