"""Tables of the `scheduler` schema.

`schedule` holds one row per schedule with its row lease: a replica claims a due schedule by setting
`lease_owner` / `lease_expires_at` (under `FOR UPDATE SKIP LOCKED`), fires it and clears the lease; a lease left
by a replica that died is taken over once it expires. `schedule_firing` records every firing once per
(schedule, due time), the guard that makes a due trigger fire exactly once.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from headwater.common.db import columns, schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_quarantine_table, outbox_table
from headwater.scheduler import SCHEMA

metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
outbox_quarantine = outbox_quarantine_table(metadata)
inbox = inbox_table(metadata)

schedule = Table(
    "schedule",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("cron", String(200), nullable=False),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("next_due_at", DateTime(timezone=True), nullable=False),
    Column("last_due_at", DateTime(timezone=True)),
    Column("last_fired_at", DateTime(timezone=True)),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", DateTime(timezone=True)),
    *columns.timestamps(),
    CheckConstraint("(lease_owner IS NULL) = (lease_expires_at IS NULL)", name="lease_complete"),
    Index("ix_schedule_due", "next_due_at", postgresql_where=text("enabled")),
)

schedule_firing = Table(
    "schedule_firing",
    metadata,
    columns.identity_key(),
    Column(
        "schedule_name",
        String(100),
        ForeignKey(schedule.c.name, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("fired_by", String(200), nullable=False),
    Column("event_id", String(36), nullable=False),
    UniqueConstraint("schedule_name", "due_at"),
    Index("ix_schedule_firing_fired_at", "fired_at"),
)
