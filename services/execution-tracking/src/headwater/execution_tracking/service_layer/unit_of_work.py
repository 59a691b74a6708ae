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
    """`async with uow:` opens a transaction with these repositories bound to it; `commit()` writes the
    published events to the outbox and commits."""

    pipeline_types: PipelineTypes
    pipelines: Pipelines
    executions: Executions
    address_types: AddressTypes
    addresses: Addresses
    lineage: Lineage
    run_datasets: RunDatasets


UnitOfWorkFactory = Callable[[], UnitOfWork]
