"""The unit of work as the ingestion use cases see it (a port). Postgres implements it in
`adapters/db/unit_of_work.py`."""

from __future__ import annotations

from typing import Protocol

from headwater.common import unit_of_work


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    """Repositories are read-only attributes: an implementation may bind any class that satisfies them."""


UnitOfWorkFactory = unit_of_work.UnitOfWorkFactory[UnitOfWork]
