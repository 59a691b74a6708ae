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
    OutboxMessages,
    Retention,
)


class UnitOfWork(unit_of_work.UnitOfWork, Protocol):
    alerts: Alerts
    anomalies: Anomalies
    channels: Channels
    checks: Checks
    copies: Copies
    deliveries: Deliveries
    retention: Retention
    outbox_messages: OutboxMessages


UnitOfWorkFactory = unit_of_work.UnitOfWorkFactory[UnitOfWork]
