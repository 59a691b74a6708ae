"""Tables of the `ingestion` schema.

Datasets, destinations and data sources are versioned documents: a row per record with its `version_id`
(optimistic concurrency: a write names the version it read), its state and name, and spec 003's fields in
`body`. `history` keeps every state each one has been in, written in the transaction of the change, never
updated. `fatal_error` counts each distinct error; `field_validation` holds a dataset's rules per field;
`ignored_signatures` the line signatures dropped per data source of a dataset. Besides
them the outbox (events published through the relay), its quarantine and the inbox.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from headwater.common.db import columns, schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_quarantine_table, outbox_table
from headwater.ingestion import SCHEMA

metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
outbox_quarantine = outbox_quarantine_table(metadata)
inbox = inbox_table(metadata)

destination = Table(
    "destination",
    metadata,
    columns.identity_key(),
    Column("version_id", Integer, nullable=False, server_default=text("0")),
    Column("state", String(20), nullable=False, server_default=text("'active'")),
    Column("name", String(2000)),
    Column("body", JSONB, nullable=False),
    *columns.timestamps(),
)

dataset = Table(
    "dataset",
    metadata,
    columns.identity_key(),
    Column("version_id", Integer, nullable=False, server_default=text("0")),
    Column("state", String(20), nullable=False, server_default=text("'active'")),
    Column("name", String(255)),
    Column("destination_id", BigInteger, ForeignKey(destination.c.id, ondelete="SET NULL")),
    Column("body", JSONB, nullable=False),
    *columns.timestamps(),
    Index("ix_dataset_destination_id", "destination_id"),
)

data_source = Table(
    "data_source",
    metadata,
    columns.identity_key(),
    Column("version_id", Integer, nullable=False, server_default=text("0")),
    Column("state", String(20), nullable=False, server_default=text("'active'")),
    Column("name", String(255)),
    Column("dataset_id", BigInteger, ForeignKey(dataset.c.id, ondelete="CASCADE"), nullable=False),
    Column("body", JSONB, nullable=False),
    *columns.timestamps(),
    Index("ix_data_source_dataset_id", "dataset_id"),
)

history = Table(
    "history",
    metadata,
    columns.identity_key(),
    Column("kind", String(20), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("change", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("changed_by", String(320)),
    Index("ix_history_entity", "kind", "entity_id", "id"),
)

fatal_error = Table(
    "fatal_error",
    metadata,
    columns.identity_key(),
    Column("job_name", String(2000)),
    Column("job_type", String(20)),
    Column("error", String(2000), nullable=False),
    Column("module", String(2000), nullable=False),
    Column("msg", Text, nullable=False),
    Column("stack_trace", Text, nullable=False, server_default=text("''")),
    Column("data_source_id", BigInteger),
    Column("settings_model_id", BigInteger),
    Column("alert_item_id", BigInteger),
    Column("stored_item_id", BigInteger),
    Column("dataset_id", BigInteger),
    Column("meta_data", JSONB),
    Column("count", Integer, nullable=False, server_default=text("1")),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    columns.created_at(),
    Index("ix_fatal_error_aggregate", "error", "module", "job_name", "data_source_id"),
)

field_validation = Table(
    "field_validation",
    metadata,
    Column("dataset_id", BigInteger, ForeignKey(dataset.c.id, ondelete="CASCADE"), primary_key=True),
    Column("field_name", String(255), primary_key=True),
    Column("rules", JSONB, nullable=False),
    *columns.timestamps(),
)

ignored_signatures = Table(
    "ignored_signatures",
    metadata,
    Column("dataset_id", BigInteger, ForeignKey(dataset.c.id, ondelete="CASCADE"), primary_key=True),
    Column("data_source_id", BigInteger, ForeignKey(data_source.c.id, ondelete="CASCADE"), primary_key=True),
    Column("signature", String(128), primary_key=True),
    Column("created_by", String(320)),
    columns.created_at(),
)
