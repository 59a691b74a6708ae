"""Tables of the `scheduler` schema."""

from __future__ import annotations

from headwater.common.db import schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_table
from headwater.scheduler import SCHEMA

metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
