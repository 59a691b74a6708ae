"""The ingestion service's unit of work on Postgres: one connection, one transaction, the metadata and file
repositories bound to it, the events (and run reports) through the outbox and the processed messages in the
inbox."""

from __future__ import annotations

from sqlalchemy import insert

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.common.events import RunReport
from headwater.ingestion.adapters.db.files import IngestionJobs, StoredItems, run_report_rows
from headwater.ingestion.adapters.db.metadata import Documents, FieldValidations
from headwater.ingestion.adapters.db.queue import QueueMessages
from headwater.ingestion.adapters.db.sensors import Sensors
from headwater.ingestion.adapters.db.signatures import IgnoredSignatures
from headwater.ingestion.adapters.db.syncs import Connections, Jobs, SyncRuns
from headwater.ingestion.adapters.db.tables import inbox, outbox
from headwater.ingestion.domain.metadata import Kind


class SqlUnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction with the `ingestion` repositories bound to it; `commit()` writes
    the collected events and run reports to the outbox and commits."""

    outbox = outbox
    inbox = inbox
    datasets: Documents
    destinations: Documents
    data_sources: Documents
    field_validations: FieldValidations
    stored_items: StoredItems
    ingestion_jobs: IngestionJobs
    ignored_signatures: IgnoredSignatures
    queue_messages: QueueMessages
    sensors: Sensors
    connections: Connections
    jobs: Jobs
    sync_runs: SyncRuns
    _reports: list[RunReport]

    def bind(self) -> None:
        self.datasets = Documents(self.conn, Kind.DATASET)
        self.destinations = Documents(self.conn, Kind.DESTINATION)
        self.data_sources = Documents(self.conn, Kind.DATA_SOURCE)
        self.field_validations = FieldValidations(self.conn)
        self.stored_items = StoredItems(self.conn)
        self.ingestion_jobs = IngestionJobs(self.conn)
        self.ignored_signatures = IgnoredSignatures(self.conn)
        self.queue_messages = QueueMessages(self.conn)
        self.sensors = Sensors(self.conn)
        self.connections = Connections(self.conn)
        self.jobs = Jobs(self.conn)
        self.sync_runs = SyncRuns(self.conn)
        self._reports = []

    def report_runs(self, *reports: RunReport) -> None:
        """Run reports for `ingress.runs`, written to the outbox on commit with the rest of the transaction."""
        self._reports.extend(reports)

    async def commit(self) -> None:
        if self._reports:
            await self.conn.execute(insert(self.outbox), run_report_rows(self._reports))
            self._reports = []
        await super().commit()
