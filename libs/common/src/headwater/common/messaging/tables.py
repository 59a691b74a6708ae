"""The outbox and inbox tables, added to each service's own schema-scoped metadata."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


def _outbox_columns() -> list[Column[Any]]:
    return [
        Column("id", BigInteger, Identity(always=False), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
    ]


# (name, columns, partial-index condition): unsent rows in claim order, per key, and sent rows for the purge.
_OUTBOX_INDEXES = (
    ("ix_outbox_unsent", ["id"], "sent_at IS NULL"),
    ("ix_outbox_unsent_key", ["key", "id"], "sent_at IS NULL"),
    ("ix_outbox_sent_at", ["sent_at"], "sent_at IS NOT NULL"),
)


def _quarantine_columns() -> list[Column[Any]]:
    """An outbox row the broker refused, as it was (same id), with when and why it was set aside."""
    columns = [c for c in _outbox_columns() if c.name not in ("id", "sent_at")]
    return [
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        *columns,
        Column("quarantined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("reason", Text, nullable=False),
    ]


# Inbox rows by age, for the purge of those older than the topics' retention.
_INBOX_AGE_INDEX = ("ix_inbox_processed_at", ["processed_at"])


def _inbox_columns() -> list[Column[Any]]:
    return [
        Column("consumer", String(100), nullable=False),
        Column("message_id", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def outbox_table(metadata: MetaData) -> Table:
    """Events waiting to be published; a relay marks them sent. Unsent rows are found by a partial index."""
    return Table(
        "outbox",
        metadata,
        *_outbox_columns(),
        *(Index(name, *columns, postgresql_where=text(where)) for name, columns, where in _OUTBOX_INDEXES),
    )


def outbox_quarantine_table(metadata: MetaData) -> Table:
    """Outbox rows the broker refused (a record over its size limit): moved here by the relay so that the rows
    after them are published; an operator reads, fixes or replays them (README: Limits, dead letters and the outbox quarantine)."""
    return Table("outbox_quarantine", metadata, *_quarantine_columns())


def inbox_table(metadata: MetaData) -> Table:
    """Messages a consumer has processed, recorded in the same transaction as its effects; rows older than the
    topics' retention are purged by the worker (a redelivery that old cannot happen)."""
    name, columns = _INBOX_AGE_INDEX
    return Table(
        "inbox",
        metadata,
        *_inbox_columns(),
        PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
        Index(name, *columns),
    )


def outbox_notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


def outbox_notify_trigger_sql(schema: str) -> list[str]:
    """DDL for the statement-level trigger that wakes relays (LISTEN) when rows are added to the outbox."""
    channel = outbox_notify_channel(schema)
    return [
        f"""
        CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify()
        """,
    ]


def create_outbox_and_inbox(schema: str) -> None:
    """Migration step (inside a service's first alembic revision): the outbox with its indexes and the trigger
    that wakes the relays, and the inbox — the same tables as `outbox_table` and `inbox_table`."""
    from alembic import op

    op.create_table(
        "inbox",
        *_inbox_columns(),
        PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
        schema=schema,
    )
    op.create_table("outbox", *_outbox_columns(), PrimaryKeyConstraint("id", name="pk_outbox"), schema=schema)
    for name, columns, where in _OUTBOX_INDEXES:
        op.create_index(name, "outbox", columns, schema=schema, postgresql_where=text(where))
    for statement in outbox_notify_trigger_sql(schema):
        op.execute(statement)


def create_outbox_quarantine_and_inbox_age_index(schema: str) -> None:
    """Migration step (a later revision of each service, or the first one of a new service after
    `create_outbox_and_inbox`): the quarantine of refused outbox rows and the index the inbox purge reads."""
    from alembic import op

    op.create_table(
        "outbox_quarantine",
        *_quarantine_columns(),
        PrimaryKeyConstraint("id", name="pk_outbox_quarantine"),
        schema=schema,
    )
    name, columns = _INBOX_AGE_INDEX
    op.create_index(name, "inbox", columns, schema=schema)


def drop_outbox_quarantine_and_inbox_age_index(schema: str) -> None:
    """The reverse of `create_outbox_quarantine_and_inbox_age_index`."""
    from alembic import op

    op.drop_index(_INBOX_AGE_INDEX[0], "inbox", schema=schema)
    op.drop_table("outbox_quarantine", schema=schema)


def drop_outbox_and_inbox(schema: str) -> None:
    """The reverse of `create_outbox_and_inbox`, for the first revision's downgrade."""
    from alembic import op

    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{schema}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".outbox_notify()')
    op.drop_table("outbox", schema=schema)  # its indexes go with it
    op.drop_table("inbox", schema=schema)
