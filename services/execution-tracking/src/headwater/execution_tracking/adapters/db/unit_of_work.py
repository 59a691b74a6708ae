"""The unit of work on Postgres: one connection, one transaction, execution-tracking's repositories bound to it,
its events through the outbox."""

from __future__ import annotations

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.execution_tracking.adapters.db import addresses, executions, pipelines
from headwater.execution_tracking.adapters.db.tables import inbox, outbox


class SqlUnitOfWork(BaseUnitOfWork):
    """Implements `service_layer.unit_of_work.UnitOfWork`: `async with uow:` opens a transaction with the
    repositories bound to it; `commit()` writes the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox

    def bind(self) -> None:
        self.pipeline_types = pipelines.PipelineTypes(self.conn)
        self.pipelines = pipelines.Pipelines(self.conn)
        self.executions = executions.Executions(self.conn)
        self.address_types = addresses.AddressTypes(self.conn)
        self.addresses = addresses.Addresses(self.conn)
        self.lineage = addresses.Lineage(self.conn)
        self.run_datasets = addresses.RunDatasets(self.conn)
