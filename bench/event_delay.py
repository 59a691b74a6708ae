"""Measurement 2: delay from an end's 204 to its `execution.ended` event reaching a Kafka consumer.

The end commits the execution and an outbox row in one transaction; the outbox relay (woken by NOTIFY)
publishes the row. The delay therefore covers the relay's wake-up, claim, produce and broker acknowledgement,
plus the consumer's fetch. Both instants are taken in this process on the same monotonic clock; an event may
even arrive before the 204 (negative delay) when the relay beats the response back through the gateway.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Self

import msgspec

from bench.kafka_tail import TopicTail
from bench.settings import BenchSettings
from bench.stats import LatencySummary
from headwater.common.events.execution_tracking import ExecutionEnded
from headwater.common.messaging.topics import prefixed


class _EndedProbe(msgspec.Struct):
    """The one field of an `execution.ended` event this measurement reads (the rest is skipped)."""

    execution_id: int


_decoder = msgspec.json.Decoder(_EndedProbe)


@dataclass(frozen=True)
class EventDelayResult:
    concurrency: int
    ends: int  # 204s received during the measured window
    events_matched: int
    events_missing: int  # ends whose event did not arrive within the timeout
    delay: LatencySummary


class EventDelayProbe:
    """Notes when each end was acknowledged and when its event arrived; `result()` pairs them up."""

    def __init__(self, settings: BenchSettings, concurrency: int) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._acknowledged: dict[int, float] = {}
        self._arrived: dict[int, float] = {}
        self._pending = 0  # acknowledged ends whose event has not arrived yet
        self._progress = asyncio.Event()
        topic = prefixed(settings.topic_prefix, ExecutionEnded.topic)
        self._tail = TopicTail(settings.kafka_bootstrap, [topic], self._on_record)

    async def __aenter__(self) -> Self:
        await self._tail.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._tail.__aexit__(*exc_info)

    def end_acknowledged(self, execution_id: int, at: float) -> None:
        """An end of the measured window got its 204 at `at` (`time.perf_counter`)."""
        self._acknowledged[execution_id] = at
        if execution_id not in self._arrived:
            self._pending += 1

    def _on_record(self, _topic: str, value: bytes, arrived: float) -> None:
        try:
            execution_id = _decoder.decode(value).execution_id
        except msgspec.MsgspecError:
            return
        if execution_id in self._arrived:  # delivered again (at least once): keep the first arrival
            return
        self._arrived[execution_id] = arrived
        if execution_id in self._acknowledged:
            self._pending -= 1
            self._progress.set()

    async def wait_for_events(self) -> None:
        """Wait until every acknowledged end's event arrived, or `event_timeout` passed without progress."""
        while self._pending > 0:
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), self._settings.event_timeout)
            except TimeoutError:
                return

    def result(self) -> EventDelayResult:
        delays = [
            self._arrived[eid] - acked for eid, acked in self._acknowledged.items() if eid in self._arrived
        ]
        return EventDelayResult(
            concurrency=self._concurrency,
            ends=len(self._acknowledged),
            events_matched=len(delays),
            events_missing=len(self._acknowledged) - len(delays),
            delay=LatencySummary.of_seconds(delays),
        )
