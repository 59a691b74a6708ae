"""The unit of work as the scheduler's use cases see it (a port): a transaction, its events, the inbox and the
schedules repository bound to it. Postgres implements it in `adapters/db/unit_of_work.py`."""

from __future__ import annotations

from typing import Protocol

from headwater.common import unit_of_work
from headwater.scheduler.service_layer.ports import Schedules


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    """Repositories are read-only attributes: an implementation may bind any class that satisfies them."""

    @property
    def schedules(self) -> Schedules: ...


UnitOfWorkFactory = unit_of_work.UnitOfWorkFactory[UnitOfWork]
