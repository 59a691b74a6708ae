"""The ingestion service's unit of work on Postgres: one connection, one transaction, the events through the
outbox and the processed messages in the inbox."""

from __future__ import annotations

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.ingestion.adapters.db.tables import inbox, outbox


class SqlUnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction; `commit()` writes the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox

    def bind(self) -> None:
        pass
