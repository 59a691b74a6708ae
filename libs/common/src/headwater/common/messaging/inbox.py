"""The idempotent consumer: which messages a consumer has already processed, in its own schema, kept as long as
a message can be redelivered (its topic's retention) and purged after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import asyncpg
from prometheus_client import Counter
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.common.logging import get_logger

log = get_logger(__name__)

PURGED = Counter(
    "headwater_inbox_purged_total", "Inbox rows deleted for being older than the retention", ["schema"]
)


async def claim_new(
    conn: AsyncConnection, inbox: Table, consumer: str, message_ids: Iterable[str]
) -> set[str]:
    """Record `message_ids` for `consumer` in the caller's transaction; return those not seen before.

    The caller applies effects only for the returned ids and commits; a duplicate delivery then finds its id
    already recorded and is skipped. One statement whatever the number of ids.
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return set()
    result = await conn.execute(
        text(
            f'INSERT INTO "{inbox.schema}".{inbox.name} (consumer, message_id) '
            "SELECT :consumer, unnest(CAST(:ids AS text[])) "
            "ON CONFLICT DO NOTHING RETURNING message_id"
        ),
        {"consumer": consumer, "ids": ids},
    )
    return set(result.scalars())


class InboxPurge:
    """Deletes a schema's inbox rows older than `retention_days`, in committed batches of `batch_size`.

    An inbox row only has to outlive the redeliveries of its message, and a message older than its topic's
    retention is gone from the topic; without the purge the inbox grows by every message ever consumed. The
    retention must be at least that of the longest-kept topic the service consumes (README: Limits, dead letters and the outbox quarantine).
    """

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        retention_days: float,
        batch_size: int = 10_000,
        interval: float = 3600.0,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._retention_seconds = retention_days * 86400
        self._batch_size = batch_size
        self._interval = interval
        self._sql = f"""
            DELETE FROM "{schema}".inbox WHERE ctid IN (
                SELECT ctid FROM "{schema}".inbox
                WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)
        """

    async def purge_once(self) -> int:
        """Delete every row older than the retention, batch by batch; returns how many."""
        conn = await asyncpg.connect(self._dsn)
        total = 0
        try:
            while True:
                status = await conn.execute(self._sql, self._retention_seconds, self._batch_size)
                deleted = int(status.split()[-1])
                total += deleted
                PURGED.labels(self._schema).inc(deleted)
                if deleted < self._batch_size:
                    break
        finally:
            await conn.close()
        if total:
            log.info("inbox_purged", schema=self._schema, deleted=total)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Purge every `interval` seconds until `stop` is set; a failed purge is logged and tried next time."""
        while not stop.is_set():
            try:
                await self.purge_once()
            except Exception as exc:
                log.warning("inbox_purge_failed", schema=self._schema, error=repr(exc)[:500])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
