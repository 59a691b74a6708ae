"""The unit of work: one connection, one transaction, the events to publish through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.common.events import Event
from headwater.common.messaging.inbox import claim_new
from headwater.common.messaging.outbox import enqueue
from headwater.quality_alerting.adapters.db.tables import inbox, outbox


class UnitOfWork:
    """`async with uow:` opens a transaction; `commit()` writes the collected events to the outbox and commits.

    Leaving the block without `commit()` rolls everything back, events included. Repositories are plain
    functions of `uow.conn` in `adapters/db`; the unit of work owns the connection, the outbox and the inbox.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._events: list[Event] = []
        self.conn: AsyncConnection

    async def __aenter__(self) -> UnitOfWork:
        self.conn = await self._engine.connect()
        await self.conn.begin()
        self._events = []
        return self

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

    async def claim(self, consumer: str, message_ids: list[str]) -> set[str]:
        """The ids among `message_ids` this consumer has not processed yet, recorded in this transaction."""
        return await claim_new(self.conn, inbox, consumer, message_ids)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: on error its writes and the events it published are both undone."""
        mark = len(self._events)
        try:
            async with self.conn.begin_nested():
                yield
        except BaseException:
            del self._events[mark:]
            raise

    async def commit(self) -> None:
        await enqueue(self.conn, outbox, self._events)
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


class UnitOfWorkFactory:
    """Makes a fresh unit of work per use case call; built once in the composition root."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine)
