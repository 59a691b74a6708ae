"""The audit writer batches rows, keeps them through a store failure, and flushes on close."""

from __future__ import annotations

from typing import Any

from headwater.common.testing import eventually
from headwater.gateway.identity.audit import AuditWriter, printable


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


class RefusingStore:
    """A database that refuses rows whose path holds a NUL byte, as Postgres does (SQLSTATE 22021)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    async def audit(self, entries: list[dict[str, Any]]) -> None:
        if any("\x00" in e["path"] for e in entries):
            raise RefusedData("invalid byte sequence for encoding UTF8: 0x00")
        self.rows.extend(entries)


class RefusedData(Exception):
    sqlstate = "22021"


async def test_a_row_the_database_refuses_is_dropped_and_the_rest_is_written() -> None:
    store = RefusingStore()
    writer = AuditWriter(store, linger=0.01)
    await writer.start()
    for path in ("/a", "/bad\x00", "/b"):
        writer.record({"path": path})

    async def the_others_written() -> None:
        assert [e["path"] for e in store.rows] == ["/a", "/b"]

    await eventually(the_others_written, timeout=5, interval=0.01)
    writer.record({"path": "/later"})  # and the writer goes on

    async def later_written() -> None:
        assert store.rows[-1]["path"] == "/later"

    await eventually(later_written, timeout=5, interval=0.01)
    await writer.close()


def test_control_characters_and_lone_surrogates_are_escaped() -> None:
    assert printable("/api/v1/tokens/\x00\x1b[31m", 2000) == "/api/v1/tokens/\\x00\\x1b[31m"
    assert printable("/x/\udcff", 2000) == "/x/\\udcff"
    assert printable("é" * 10, 4) == "éééé"
