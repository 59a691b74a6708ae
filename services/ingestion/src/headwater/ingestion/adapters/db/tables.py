"""Tables of the `ingestion` schema: the outbox (events published through the relay), its quarantine and the
inbox (message ids already processed)."""

from __future__ import annotations

from headwater.common.db import schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_quarantine_table, outbox_table
from headwater.ingestion import SCHEMA

metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
outbox_quarantine = outbox_quarantine_table(metadata)
inbox = inbox_table(metadata)
