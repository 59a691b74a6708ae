"""The unit of work as the ingestion use cases see it (a port): a transaction, its events, the inbox and the
metadata repositories bound to it. Postgres implements it in `adapters/db/unit_of_work.py`."""

from __future__ import annotations

from typing import Protocol

from headwater.common import unit_of_work
from headwater.common.events import RunReport
from headwater.ingestion.service_layer.ports import (
    Connections,
    Documents,
    FieldValidations,
    IgnoredSignatures,
    IngestionJobs,
    Jobs,
    QueueMessages,
    Sensors,
    StoredItems,
    SyncRuns,
)


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    """Repositories are read-only attributes: an implementation may bind any class that satisfies them."""

    @property
    def datasets(self) -> Documents: ...

    @property
    def destinations(self) -> Documents: ...

    @property
    def data_sources(self) -> Documents: ...

    @property
    def field_validations(self) -> FieldValidations: ...

    @property
    def stored_items(self) -> StoredItems: ...

    @property
    def ingestion_jobs(self) -> IngestionJobs: ...

    def report_runs(self, *reports: RunReport) -> None:
        """Run reports for `ingress.runs`, published through the outbox when the transaction commits."""
        ...

    @property
    def ignored_signatures(self) -> IgnoredSignatures: ...

    @property
    def queue_messages(self) -> QueueMessages: ...

    @property
    def sensors(self) -> Sensors: ...

    @property
    def connections(self) -> Connections: ...

    @property
    def jobs(self) -> Jobs: ...

    @property
    def sync_runs(self) -> SyncRuns: ...


UnitOfWorkFactory = unit_of_work.UnitOfWorkFactory[UnitOfWork]
