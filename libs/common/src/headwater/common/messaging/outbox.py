"""Writing events to the transactional outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, insert
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


async def enqueue(conn: AsyncConnection, outbox: Table, events: Sequence[Event]) -> None:
    """Add `events` to the outbox within the transaction of `conn`; they are published after it commits."""
    if events:
        await conn.execute(insert(outbox), outbox_rows(events))
