"""The unit of work: one connection, one transaction, the events to publish through the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.scheduler.adapters.db.tables import inbox, outbox


class UnitOfWork(BaseUnitOfWork):
    """Repositories are plain functions of `uow.conn` in `adapters/db`; the unit of work owns the connection,
    the outbox and the inbox."""

    outbox = outbox
    inbox = inbox


class UnitOfWorkFactory:
    """Makes a fresh unit of work per use case call; built once in the composition root."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine)
