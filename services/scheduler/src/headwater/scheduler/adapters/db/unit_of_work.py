"""The scheduler's unit of work on Postgres: one connection, one transaction, the schedules repository bound to
it, the events through the outbox and the processed messages in the inbox."""

from __future__ import annotations

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.scheduler.adapters.db.schedules import Schedules
from headwater.scheduler.adapters.db.tables import inbox, outbox


class SqlUnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction with the `scheduler` repositories bound to it; `commit()` writes
    the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox
    schedules: Schedules

    def bind(self) -> None:
        self.schedules = Schedules(self.conn)
