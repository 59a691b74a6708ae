"""The unit of work as execution-tracking's use cases see it (a port): a transaction with the service's
repositories, its events and its inbox. `adapters/db/unit_of_work.py` implements it on Postgres and
`headwater.execution_tracking.testing` in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from headwater.common import unit_of_work
from headwater.execution_tracking.service_layer.ports import (
    Addresses,
    AddressTypes,
    Executions,
    Lineage,
    Pipelines,
    PipelineTypes,
    RunDatasets,
)


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    """`async with uow:` opens a transaction with these repositories bound to it (read-only to use cases);
    `commit()` writes the published events to the outbox and commits."""

    @property
    def pipeline_types(self) -> PipelineTypes: ...

    @property
    def pipelines(self) -> Pipelines: ...

    @property
    def executions(self) -> Executions: ...

    @property
    def address_types(self) -> AddressTypes: ...

    @property
    def addresses(self) -> Addresses: ...

    @property
    def lineage(self) -> Lineage: ...

    @property
    def run_datasets(self) -> RunDatasets: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
