"""Writing events to the transactional outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.common.events.base import Event, encode_event
from headwater.common.telemetry import inject_headers


def outbox_rows(events: Sequence[Event]) -> list[dict[str, object]]:
    """Rows for `events`, each carrying the current trace context so the consumer continues the trace."""
    trace_headers = inject_headers()
    return [
        {
            "topic": e.topic,
            "key": e.key.decode(),
            "event_type": e.event_type,
            "event_id": str(e.event_id),
            "payload": encode_event(e),
            "headers": trace_headers,
        }
        for e in events
    ]


OUTBOX_COLUMNS = ("topic", "key", "event_type", "event_id", "payload", "headers")


def outbox_columns(events: Sequence[Event]) -> dict[str, list[Any]]:
    """The rows of `events` as one array per column, for a single `INSERT ... SELECT unnest(...)`."""
    rows = outbox_rows(events)
    columns: dict[str, list[Any]] = {c: [r[c] for r in rows] for c in OUTBOX_COLUMNS}
    columns["headers"] = [msgspec.json.encode(h).decode() for h in columns["headers"]]
    return columns


async def enqueue(conn: AsyncConnection, outbox: Table, events: Sequence[Event]) -> None:
    """Add `events` to the outbox within the transaction of `conn`; they are published after it commits."""
    if events:
        await conn.execute(
            text(
                f'INSERT INTO "{outbox.schema}".{outbox.name} (topic, key, event_type, event_id, payload, headers) '
                "SELECT topic, key, event_type, event_id, payload, headers::jsonb FROM unnest("
                "CAST(:topic AS text[]), CAST(:key AS text[]), CAST(:event_type AS text[]), "
                "CAST(:event_id AS text[]), CAST(:payload AS bytea[]), CAST(:headers AS text[])"
                ") AS o(topic, key, event_type, event_id, payload, headers)"
            ),
            outbox_columns(events),
        )
