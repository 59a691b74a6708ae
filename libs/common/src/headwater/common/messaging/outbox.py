"""Writing events to the transactional outbox, in the caller's transaction.

An event larger than `MAX_EVENT_BYTES` is refused here, before anything is written: published, it would be
refused by the broker (1 MiB records by default) and stall the outbox. The contracts bound the user data events
carry (`contracts.types`), so this is the backstop for what they cannot bound (e.g. lineage accumulated over
a run's OpenLineage events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from prometheus_client import Counter
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.common.errors import UseCaseError
from headwater.common.events.base import Event, encode_event
from headwater.common.logging import get_logger
from headwater.common.telemetry import inject_headers

log = get_logger(__name__)

# Below the producer's 1 MiB `max_request_size`, leaving room for the key, headers and the batch's framing.
MAX_EVENT_BYTES = 900 * 1024

REFUSED = Counter(
    "headwater_outbox_refused_total",
    "Events refused at enqueue for being larger than MAX_EVENT_BYTES",
    ["topic"],
)


class EventTooLarge(UseCaseError):
    """The request would publish an event larger than Kafka takes: 413, nothing of the request is written."""

    status = 413


def outbox_rows(events: Sequence[Event]) -> list[dict[str, object]]:
    """Rows for `events`, each carrying the current trace context so the consumer continues the trace; raises
    `EventTooLarge` (and writes nothing) when one of them encodes to more than `MAX_EVENT_BYTES`."""
    trace_headers = inject_headers()
    rows: list[dict[str, object]] = []
    for e in events:
        payload = encode_event(e)
        if len(payload) > MAX_EVENT_BYTES:
            REFUSED.labels(e.topic).inc()
            log.warning("outbox_event_refused", topic=e.topic, key=e.key.decode(), size=len(payload))
            raise EventTooLarge(
                f"this request would publish a {e.topic} event of {len(payload)} bytes; "
                f"at most {MAX_EVENT_BYTES} are accepted"
            )
        rows.append(
            {
                "topic": e.topic,
                "key": e.key.decode(),
                "event_type": e.event_type,
                "event_id": str(e.event_id),
                "payload": payload,
                "headers": trace_headers,
            }
        )
    return rows


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
