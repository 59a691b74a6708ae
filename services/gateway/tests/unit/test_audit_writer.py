"""The audit writer batches rows, keeps them through a store failure, and flushes on close."""

from __future__ import annotations

from typing import Any

from headwater.common.testing import eventually
from headwater.gateway.identity.audit import AuditWriter


class FlakyStore:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.batches: list[list[dict[str, Any]]] = []

    async def audit(self, entries: list[dict[str, Any]]) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database down")
        self.batches.append(list(entries))


async def test_rows_are_written_in_batches_after_the_linger() -> None:
    store = FlakyStore(failures=0)
    writer = AuditWriter(store, linger=0.02, max_batch=3)
    await writer.start()
    for i in range(7):
        writer.record({"n": i})

    async def all_written() -> None:
        assert sum(len(b) for b in store.batches) == 7

    await eventually(all_written, timeout=5, interval=0.01)
    assert [len(b) for b in store.batches] == [3, 3, 1]
    assert [e["n"] for b in store.batches for e in b] == list(range(7))
    await writer.close()


async def test_a_failed_insert_keeps_the_rows_for_the_next_try_and_close_flushes() -> None:
    store = FlakyStore(failures=1)
    writer = AuditWriter(store, linger=0.01)
    await writer.start()
    writer.record({"n": 1})

    async def tried_once() -> None:
        assert store.attempts == 1

    await eventually(tried_once, timeout=5, interval=0.01)
    assert store.batches == []  # the first insert failed; the row waits for the retry (a second later)
    writer.record({"n": 2})
    await writer.close()  # no waiting for the retry: close writes what is pending
    assert [e["n"] for b in store.batches for e in b] == [1, 2]


async def test_rows_beyond_the_bound_are_dropped_and_counted_not_kept_without_limit() -> None:
    store = FlakyStore(failures=0)
    writer = AuditWriter(store, max_pending=2)
    for i in range(3):
        writer.record({"n": i})
    await writer.flush()
    assert [e["n"] for b in store.batches for e in b] == [0, 1]
