"""Tables of the `ingestion` schema.

Datasets, destinations and data sources are versioned documents: a row per record with its `version_id`
(optimistic concurrency: a write names the version it read), its state and name, and spec 003's fields in
`body`. `history` keeps every state each one has been in, written in the transaction of the change, never
updated. `field_validation` holds a dataset's rules per field;
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
from sqlalchemy.dialects.postgresql import JSONB, UUID

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

field_validation = Table(
    "field_validation",
    metadata,
    Column("dataset_id", BigInteger, ForeignKey(dataset.c.id, ondelete="CASCADE"), primary_key=True),
    Column("field_name", String(255), primary_key=True),
    Column("rules", JSONB, nullable=False),
    *columns.timestamps(),
)

# -- files: stored items, the nonces of their signed uploads, ignored contents, ingestion jobs ----------------------

stored_item = Table(
    "stored_item",
    metadata,
    columns.identity_key(),
    Column("dataset_id", BigInteger, nullable=False),
    Column("data_source_id", BigInteger, ForeignKey(data_source.c.id, ondelete="CASCADE"), nullable=False),
    Column("object_key", String(1024), nullable=False),
    Column("file_name", String(1024)),
    Column("content_type", String(255)),
    Column("size", BigInteger),
    Column("sha256", String(64)),
    Column("state", String(20), nullable=False),
    Column("ignore_file", Boolean, nullable=False, server_default=text("false")),
    Column("is_uploaded_via_signed_url", Boolean, nullable=False, server_default=text("false")),
    Column("parent_id", BigInteger),
    Column("duplicate_of_id", BigInteger),
    Column("current_job_id", BigInteger),
    Column("rows_loaded", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_quarantined", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_ignored", BigInteger, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("stored_at", DateTime(timezone=True)),
    *columns.timestamps(),
    Index("ix_stored_item_data_source_id", "data_source_id", "id"),
    Index("ix_stored_item_dataset_sha256", "dataset_id", "sha256"),
    Index("uq_stored_item_object_key", "object_key", unique=True),
)

upload_nonce = Table(
    "upload_nonce",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("stored_item_id", BigInteger, ForeignKey(stored_item.c.id, ondelete="CASCADE"), nullable=False),
    columns.created_at("used_at"),
)

ignored_content = Table(
    "ignored_content",
    metadata,
    Column("dataset_id", BigInteger, primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("stored_item_id", BigInteger, nullable=False),
    columns.created_at(),
)

ingestion_job = Table(
    "ingestion_job",
    metadata,
    columns.identity_key(),
    Column("stored_item_id", BigInteger, ForeignKey(stored_item.c.id, ondelete="CASCADE"), nullable=False),
    Column("dataset_id", BigInteger, nullable=False),
    Column("data_source_id", BigInteger, nullable=False),
    Column("state", String(30), nullable=False),
    Column("replace", Boolean, nullable=False, server_default=text("false")),
    Column("try_count", Integer, nullable=False, server_default=text("0")),
    Column("rows_read", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_loaded", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_quarantined", BigInteger, nullable=False, server_default=text("0")),
    Column("rows_ignored", BigInteger, nullable=False, server_default=text("0")),
    Column("error", Text),
    columns.created_at(),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Index("ix_ingestion_job_stored_item_id", "stored_item_id"),
    Index("ix_ingestion_job_data_source_id", "data_source_id", "id"),
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

# -- sensors: a data source watching a prefix of the object store -------------------------------------------------

sensor = Table(
    "sensor",
    metadata,
    Column("data_source_id", BigInteger, ForeignKey(data_source.c.id, ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False, server_default=text("0")),
    Column("cron_disabled", Boolean, nullable=False, server_default=text("false")),
    Column("last_run_at", DateTime(timezone=True)),
    *columns.timestamps(),
)

sensor_object = Table(
    "sensor_object",
    metadata,
    Column("data_source_id", BigInteger, ForeignKey(data_source.c.id, ondelete="CASCADE"), primary_key=True),
    Column("object_key", String(1024), primary_key=True),
    Column("etag", String(255)),
    Column("size", BigInteger, nullable=False),
    Column("stored_item_id", BigInteger),
    columns.created_at("seen_at"),
)

# -- syncs: connections (sources and destinations), jobs joining them, their runs, states and logs ----------------

sync_connection = Table(
    "sync_connection",
    metadata,
    columns.identity_key(),
    Column("role", String(20), nullable=False),  # source | destination
    Column("project_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("config", Text, nullable=False),  # sealed (adapters/secrets.py): never plaintext at rest
    *columns.timestamps(),
    Column("created_by", String(320)),
    Column("updated_by", String(320)),
    Column("deleted_at", DateTime(timezone=True)),
    Index(
        "ux_sync_connection_name",
        "role",
        "project_id",
        "name",
        unique=True,
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

sync_job = Table(
    "sync_job",
    metadata,
    columns.identity_key(),
    Column("project_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("source_id", BigInteger, ForeignKey(sync_connection.c.id), nullable=False),
    Column("destination_id", BigInteger, ForeignKey(sync_connection.c.id), nullable=False),
    Column("streams", JSONB, nullable=False),
    Column("frequency", String(255)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("extra", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    *columns.timestamps(),
    Column("created_by", String(320)),
    Column("updated_by", String(320)),
    Column("deleted_at", DateTime(timezone=True)),
    Index("ux_sync_job_name", "project_id", "name", unique=True, postgresql_where=text("deleted_at IS NULL")),
    Index("ix_sync_job_source_id", "source_id"),
    Index("ix_sync_job_destination_id", "destination_id"),
)

sync_run = Table(
    "sync_run",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("job_id", BigInteger, ForeignKey(sync_job.c.id), nullable=False),
    Column("status", String(20), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("rows", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("error", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", DateTime(timezone=True)),
    Index("ix_sync_run_job_id", "job_id", "started_at"),
    # one running run per job: a second start conflicts here, in the database, whatever the number of workers
    Index(
        "ux_sync_run_active", "job_id", unique=True, postgresql_where=text("status IN ('queued', 'running')")
    ),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("job_id", BigInteger, ForeignKey(sync_job.c.id, ondelete="CASCADE"), primary_key=True),
    Column("stream", String(600), primary_key=True),
    Column("state", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

sync_log = Table(
    "sync_log",
    metadata,
    columns.identity_key(),
    Column("run_id", UUID(as_uuid=False), ForeignKey(sync_run.c.id, ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("level", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_sync_log_run_id", "run_id", "id"),
)
