"""The ingestion service's unit of work on Postgres: one connection, one transaction, the metadata
repositories bound to it, the events through the outbox and the processed messages in the inbox."""

from __future__ import annotations

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.ingestion.adapters.db.metadata import Documents, FatalErrors, FieldValidations
from headwater.ingestion.adapters.db.queue import QueueMessages
from headwater.ingestion.adapters.db.signatures import IgnoredSignatures
from headwater.ingestion.adapters.db.tables import inbox, outbox
from headwater.ingestion.domain.metadata import Kind


class SqlUnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction with the `ingestion` repositories bound to it; `commit()` writes
    the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox
    datasets: Documents
    destinations: Documents
    data_sources: Documents
    fatal_errors: FatalErrors
    field_validations: FieldValidations
    ignored_signatures: IgnoredSignatures
    queue_messages: QueueMessages

    def bind(self) -> None:
        self.datasets = Documents(self.conn, Kind.DATASET)
        self.destinations = Documents(self.conn, Kind.DESTINATION)
        self.data_sources = Documents(self.conn, Kind.DATA_SOURCE)
        self.fatal_errors = FatalErrors(self.conn)
        self.field_validations = FieldValidations(self.conn)
        self.ignored_signatures = IgnoredSignatures(self.conn)
        self.queue_messages = QueueMessages(self.conn)
