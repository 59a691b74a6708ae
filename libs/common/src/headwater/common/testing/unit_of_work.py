"""An in-memory unit of work for fast use-case tests: records what was published, claimed and committed.

A service's fake subclasses it and adds fake repositories (dicts) in `bind()`; a test then runs the real use
case on it and asserts on the repositories and `committed_events`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import NoReturn, Self

from headwater.common.events import Event


class NotFaked:
    """A repository a fake unit of work does not implement: any use of it fails the test, naming it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> NoReturn:
        raise NotImplementedError(f"the fake unit of work has no {self._name} (asked for {attribute})")


class FakeUnitOfWork:
    """Implements `headwater.common.unit_of_work.UnitOfWork` without a database.

    Writes made through fake repositories are not rolled back (the repositories are plain objects), but
    events are: what a block publishes reaches `committed_events` only through `commit()`.
    """

    def __init__(self) -> None:
        self.committed_events: list[Event] = []
        self.commits = 0
        self.processed: dict[str, set[str]] = {}
        self._events: list[Event] = []
        self._claimed: dict[str, set[str]] = {}
        self.bind()

    def bind(self) -> None:
        """Build the fake repositories (called once: they outlive every transaction, as tables do)."""

    def factory(self) -> Self:
        """Use as a `uow_factory`: every unit of work is this one (its repositories are the test's database)."""
        return self

    async def __aenter__(self) -> Self:
        self._events = []
        self._claimed = {}
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._events = []
        self._claimed = {}

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

    async def claim(self, consumer: str, message_ids: Iterable[str]) -> set[str]:
        seen = self.processed.get(consumer, set()) | self._claimed.get(consumer, set())
        fresh = {m for m in message_ids if m not in seen}
        self._claimed.setdefault(consumer, set()).update(fresh)
        return fresh

    @asynccontextmanager
    async def savepoint(self) -> AsyncGenerator[None]:
        mark = len(self._events)
        try:
            yield
        except BaseException:
            del self._events[mark:]
            raise

    async def commit(self) -> None:
        self.committed_events.extend(self._events)
        for consumer, ids in self._claimed.items():
            self.processed.setdefault(consumer, set()).update(ids)
        self._events = []
        self._claimed = {}
        self.commits += 1
