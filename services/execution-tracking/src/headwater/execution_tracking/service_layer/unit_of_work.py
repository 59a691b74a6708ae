"""The unit of work: one connection, one transaction, the events to publish through the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.execution_tracking.adapters.db.addresses import Addresses, AddressTypes, Lineage, RunDatasets
from headwater.execution_tracking.adapters.db.repositories import (
    ExecutionBatches,
    Executions,
    Pipelines,
    PipelineTypes,
)
from headwater.execution_tracking.adapters.db.tables import inbox, outbox


class UnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction with the repositories of `execution_tracking` bound to it;
    `commit()` writes the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox
    pipeline_types: PipelineTypes
    pipelines: Pipelines
    executions: Executions
    batches: ExecutionBatches
    address_types: AddressTypes
    addresses: Addresses
    lineage: Lineage
    run_datasets: RunDatasets

    def bind(self) -> None:
        self.pipeline_types = PipelineTypes(self.conn)
        self.pipelines = Pipelines(self.conn)
        self.executions = Executions(self.conn)
        self.batches = ExecutionBatches(self.conn)
        self.address_types = AddressTypes(self.conn)
        self.addresses = Addresses(self.conn)
        self.lineage = Lineage(self.conn)
        self.run_datasets = RunDatasets(self.conn)


class UnitOfWorkFactory:
    """Makes a fresh unit of work per use case call; built once in the composition root."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine)
