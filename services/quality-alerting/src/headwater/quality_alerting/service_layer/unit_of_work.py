"""The unit of work as quality-alerting's use cases see it (a port): a transaction, its events, the inbox and the
repositories bound to it. Postgres implements it in `adapters/db/unit_of_work.py`, memory in `testing.py`."""

from __future__ import annotations

from typing import Protocol

from headwater.common import unit_of_work
from headwater.quality_alerting.service_layer.ports import (
    Alerts,
    Anomalies,
    Channels,
    Checks,
    Copies,
    Deliveries,
    FatalErrors,
    OutboxMessages,
    Retention,
)


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    """Repositories are read-only attributes: an implementation may bind any class that satisfies them."""

    @property
    def alerts(self) -> Alerts: ...

    @property
    def anomalies(self) -> Anomalies: ...

    @property
    def channels(self) -> Channels: ...

    @property
    def checks(self) -> Checks: ...

    @property
    def copies(self) -> Copies: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def retention(self) -> Retention: ...

    @property
    def fatal_errors(self) -> FatalErrors: ...

    @property
    def outbox_messages(self) -> OutboxMessages: ...


UnitOfWorkFactory = unit_of_work.UnitOfWorkFactory[UnitOfWork]
