"""quality-alerting's unit of work on Postgres: one connection, one transaction, the repositories bound to it,
the events through the outbox and the processed messages in the inbox."""

from __future__ import annotations

from headwater.common.db.unit_of_work import BaseUnitOfWork
from headwater.quality_alerting.adapters.db.alerts import Alerts
from headwater.quality_alerting.adapters.db.anomalies import Anomalies
from headwater.quality_alerting.adapters.db.channels import Channels
from headwater.quality_alerting.adapters.db.checks import Checks
from headwater.quality_alerting.adapters.db.copies import Copies
from headwater.quality_alerting.adapters.db.deliveries import Deliveries
from headwater.quality_alerting.adapters.db.fatal_errors import FatalErrors
from headwater.quality_alerting.adapters.db.outbox import OutboxMessages
from headwater.quality_alerting.adapters.db.retention import Retention
from headwater.quality_alerting.adapters.db.tables import inbox, outbox


class SqlUnitOfWork(BaseUnitOfWork):
    """`async with uow:` opens a transaction with the repositories of `quality_alerting` bound to it;
    `commit()` writes the collected events to the outbox and commits."""

    outbox = outbox
    inbox = inbox
    alerts: Alerts
    anomalies: Anomalies
    channels: Channels
    checks: Checks
    copies: Copies
    deliveries: Deliveries
    fatal_errors: FatalErrors
    retention: Retention
    outbox_messages: OutboxMessages

    def bind(self) -> None:
        self.alerts = Alerts(self.conn)
        self.anomalies = Anomalies(self.conn)
        self.channels = Channels(self.conn)
        self.checks = Checks(self.conn)
        self.copies = Copies(self.conn)
        self.deliveries = Deliveries(self.conn)
        self.fatal_errors = FatalErrors(self.conn)
        self.retention = Retention(self.conn)
        self.outbox_messages = OutboxMessages(self.conn)
