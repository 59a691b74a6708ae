"""The unit of work every service builds on: one connection, one transaction, its events through the outbox and
the messages it has processed in the inbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Generic, Self, TypeVar

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.common.events import Event
from headwater.common.messaging.inbox import claim_new
from headwater.common.messaging.outbox import enqueue


class BaseUnitOfWork:
    """`async with uow:` opens a transaction; `commit()` writes the collected events to the outbox and commits.

    Leaving the block without `commit()` rolls everything back, events included. A service subclasses it to
    bind its repositories to the connection in `bind()`, and names its outbox and inbox tables.
    """

    outbox: Table
    inbox: Table

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._events: list[Event] = []
        self.conn: AsyncConnection

    def bind(self) -> None:
        """Build the repositories on `self.conn` (called on entering the block)."""

    async def __aenter__(self) -> Self:
        self.conn = await self._engine.connect()
        await self.conn.begin()
        self._events = []
        self.bind()
        return self

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

    async def claim(self, consumer: str, message_ids: Iterable[str]) -> set[str]:
        """The ids among `message_ids` this consumer has not processed yet, recorded in this transaction."""
        return await claim_new(self.conn, self.inbox, consumer, message_ids)

    @asynccontextmanager
    async def savepoint(self) -> AsyncGenerator[None]:
        """A nested transaction: on error its writes and the events it published are both undone."""
        mark = len(self._events)
        try:
            async with self.conn.begin_nested():
                yield
        except BaseException:
            del self._events[mark:]
            raise

    async def commit(self) -> None:
        await enqueue(self.conn, self.outbox, self._events)
        self._events = []
        await self.conn.commit()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()


U = TypeVar("U", bound=BaseUnitOfWork)


class UnitOfWorkFactory(Generic[U]):
    """Makes a fresh unit of work of one service's class per use case call; built once in the composition
    root (`UnitOfWorkFactory(engine, SqlUnitOfWork)`)."""

    def __init__(self, engine: AsyncEngine, cls: type[U]) -> None:
        self.engine = engine
        self._cls = cls

    def __call__(self) -> U:
        return self._cls(self.engine)
