"""The unit of work: one connection, one transaction, the events to publish through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.common.events import Event
from headwater.common.messaging.outbox import enqueue
from headwater.execution_tracking.adapters.db.addresses import Addresses, AddressTypes, Lineage, RunDatasets
from headwater.execution_tracking.adapters.db.repositories import (
    ExecutionBatches,
    Executions,
    Pipelines,
    PipelineTypes,
)
from headwater.execution_tracking.adapters.db.tables import outbox


class UnitOfWork:
    """`async with uow:` opens a transaction; `commit()` writes the collected events to the outbox and commits.

    Leaving the block without `commit()` rolls everything back, events included.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._events: list[Event] = []
        self.conn: AsyncConnection
        self.pipeline_types: PipelineTypes
        self.pipelines: Pipelines
        self.executions: Executions
        self.batches: ExecutionBatches
        self.address_types: AddressTypes
        self.addresses: Addresses
        self.lineage: Lineage
        self.run_datasets: RunDatasets

    async def __aenter__(self) -> UnitOfWork:
        self.conn = await self._engine.connect()
        await self.conn.begin()
        self._events = []
        self.pipeline_types = PipelineTypes(self.conn)
        self.pipelines = Pipelines(self.conn)
        self.executions = Executions(self.conn)
        self.batches = ExecutionBatches(self.conn)
        self.address_types = AddressTypes(self.conn)
        self.addresses = Addresses(self.conn)
        self.lineage = Lineage(self.conn)
        self.run_datasets = RunDatasets(self.conn)
        return self

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

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
