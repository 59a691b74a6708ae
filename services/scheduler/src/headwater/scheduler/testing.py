"""Reading a scheduler database back in tests: firings, outbox events, schedule rows (plain asyncpg)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from headwater.common.events import ChecksRequested, RetentionRequested, decode_event
from headwater.scheduler.bootstrap import Container

Requested = ChecksRequested | RetentionRequested
NewDatabase = Callable[[], Awaitable[str]]  # the `new_database` fixture: a fresh migrated database's DSN
NewContainer = Callable[..., Awaitable[Container]]  # the `new_container` fixture: (dsn, clock, **settings)


async def fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def firings(dsn: str) -> list[asyncpg.Record]:
    return await fetch(
        dsn,
        "SELECT schedule_name, due_at, fired_at, fired_by, event_id FROM scheduler.schedule_firing "
        "ORDER BY schedule_name, due_at",
    )


async def outbox_events(dsn: str) -> list[Requested]:
    rows = await fetch(dsn, "SELECT payload FROM scheduler.outbox ORDER BY id")
    return [decode_event(r["payload"], Requested) for r in rows]


async def schedule_rows(dsn: str) -> dict[str, asyncpg.Record]:
    rows = await fetch(dsn, "SELECT * FROM scheduler.schedule ORDER BY name")
    return {r["name"]: r for r in rows}


async def pending(dsn: str, now: datetime) -> int:
    """Enabled schedules due by `now` or still leased: 0 once every replica has caught up with the clock."""
    rows = await fetch(
        dsn,
        "SELECT count(*) AS n FROM scheduler.schedule "
        "WHERE enabled AND (next_due_at <= $1 OR lease_owner IS NOT NULL)",
        now,
    )
    return int(rows[0]["n"])
