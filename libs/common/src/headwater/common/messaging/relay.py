"""The outbox relay: publishes committed outbox rows to Kafka, at least once and in per-key order.

Woken by LISTEN/NOTIFY (with a poll as a safety net), it claims unsent rows with `FOR UPDATE SKIP LOCKED`, so
several relays can run side by side. A row is only taken when every earlier unsent row with the same key is in
the same claim; the rows of one key are therefore published by one relay, in id order, and a relay waits for
the broker's acknowledgement of all of them before it marks them sent.

A row the broker (or the producer, which applies the same limit) refuses for what it is — a record over the
size limit — would be retried forever and hold back every later row. Sent again alone to tell it from the rows
batched with it, it is then moved to `outbox_quarantine` with the reason, counted and logged, and the rest of
the claim is marked sent. Any other failure (the broker away) leaves the whole claim unsent, to be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from aiokafka.structs import RecordMetadata
from asyncpg.pool import PoolConnectionProxy
from opentelemetry import trace
from prometheus_client import Counter, Gauge, Histogram

from headwater.common.logging import get_logger
from headwater.common.messaging.tables import outbox_notify_channel
from headwater.common.messaging.topics import prefixed
from headwater.common.retry import Backoff
from headwater.common.telemetry import extract_context

log = get_logger(__name__)
tracer = trace.get_tracer("headwater.outbox")

PUBLISHED = Counter("headwater_outbox_published_total", "Outbox events published", ["schema", "topic"])
BACKLOG = Gauge("headwater_outbox_backlog", "Unsent outbox rows seen at the last claim", ["schema"])
PUBLISH_DELAY = Histogram(
    "headwater_outbox_publish_delay_seconds",
    "Delay from an outbox row's commit to its broker acknowledgement",
    ["schema"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUARANTINED = Counter(
    "headwater_outbox_quarantined_total",
    "Outbox rows the broker refused, moved to outbox_quarantine",
    ["schema", "topic"],
)
IN_QUARANTINE = Gauge(
    "headwater_outbox_quarantine_rows", "Rows in outbox_quarantine at the last housekeeping", ["schema"]
)

# What the broker or producer answers about one record itself: sending it again will never succeed.
REFUSED_RECORD = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


class OutboxRelay:
    """Publishes one schema's outbox. `run()` until cancelled; `drain()` once (tests, shutdown)."""

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        producer: AIOKafkaProducer,
        topic_prefix: str = "",
        source: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        linger: float = 0.005,
        sent_retention_seconds: float = 3600.0,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._producer = producer
        self._prefix = topic_prefix
        self._source = source
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._linger = linger
        self._sent_retention = sent_retention_seconds
        self._wake = asyncio.Event()
        self.listening = (
            asyncio.Event()
        )  # set once `run()` hears NOTIFY: what a test of the wake-up waits for
        self._pool: asyncpg.Pool | None = None
        o = f'"{schema}".outbox'
        # Take the oldest unsent rows nobody else holds; then drop those whose key has an earlier unsent row
        # held by another relay (it was skipped: it lies below our newest row but is not ours). With a single
        # relay nothing is skipped and the check is a scan of our own rows.
        self._claim_sql = f"""
            WITH batch AS (
                SELECT id, key FROM {o} WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
            ),
            skipped AS (
                SELECT DISTINCT e.key FROM {o} e
                WHERE e.sent_at IS NULL AND e.id < (SELECT max(id) FROM batch)
                  AND e.id NOT IN (SELECT id FROM batch)
            )
            SELECT o.id, o.topic, o.key, o.event_type, o.event_id, o.payload, o.headers::text AS headers,
                   o.created_at
            FROM {o} o JOIN batch b ON b.id = o.id
            WHERE b.key NOT IN (SELECT key FROM skipped)
            ORDER BY o.id
        """
        self._mark_sql = f"UPDATE {o} SET sent_at = now() WHERE id = ANY($1::bigint[])"
        self._quarantine_sql = f"""
            WITH moved AS (DELETE FROM {o} WHERE id = $1 RETURNING *)
            INSERT INTO "{schema}".outbox_quarantine
                (id, topic, key, event_type, event_id, payload, headers, created_at, reason)
            SELECT id, topic, key, event_type, event_id, payload, headers, created_at, $2 FROM moved
        """
        self._quarantined_sql = f'SELECT count(*) FROM "{schema}".outbox_quarantine'
        self._backlog_sql = f"SELECT count(*) FROM {o} WHERE sent_at IS NULL"
        self._purge_sql = f"""
            DELETE FROM {o} WHERE id IN (
                SELECT id FROM {o} WHERE sent_at < now() - make_interval(secs => $1) LIMIT 10000)
        """

    async def _connect(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=2)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def drain(self) -> int:
        """Publish until no claimable row is left; returns how many rows were taken (published or quarantined)."""
        total = 0
        while True:
            n = await self._publish_batch()
            total += n
            if n == 0:
                return total

    async def _publish_batch(self) -> int:
        pool = await self._connect()
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(self._claim_sql, self._batch_size)
            if not rows:
                return 0
            refused = await self._send(rows)
            for r in rows:
                if r["id"] in refused:
                    await self._quarantine(conn, r, refused[r["id"]])
            sent = [r for r in rows if r["id"] not in refused]
            await conn.execute(self._mark_sql, [r["id"] for r in sent])
        now = datetime.now(UTC)
        for r in sent:
            PUBLISHED.labels(self._schema, r["topic"]).inc()
            PUBLISH_DELAY.labels(self._schema).observe((now - r["created_at"]).total_seconds())
        return len(rows)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> dict[int, Exception]:
        """Send `rows` and wait for every acknowledgement; returns the ids of rows refused for what they are (each
        refused again when sent alone). Any other failure is raised: the whole claim stays unsent."""
        pending: list[tuple[asyncpg.Record, asyncio.Future[RecordMetadata]]] = []
        refused: dict[int, Exception] = {}
        for r in rows:
            try:
                pending.append((r, await self._send_one(r)))
            except REFUSED_RECORD as exc:  # the producer's own size check
                refused[r["id"]] = exc
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        suspects: list[asyncpg.Record] = []
        for (r, _), result in zip(pending, results, strict=True):
            if isinstance(result, REFUSED_RECORD):
                suspects.append(r)
            elif isinstance(result, BaseException):
                raise result
        for r in suspects:  # the broker refuses a whole produce batch: find the record it refuses alone
            try:
                await (await self._send_one(r))
            except REFUSED_RECORD as exc:
                refused[r["id"]] = exc
        return refused

    async def _send_one(self, r: asyncpg.Record) -> asyncio.Future[RecordMetadata]:
        stored: dict[str, str] = msgspec.json.decode(r["headers"])
        with tracer.start_as_current_span(
            f"{r['topic']} publish",
            context=extract_context(stored),
            kind=trace.SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": r["topic"]},
        ):
            headers = [(k, v.encode()) for k, v in stored.items()] + [
                ("ce_id", r["event_id"].encode()),
                ("ce_type", r["event_type"].encode()),
                ("ce_source", self._source.encode()),
                ("ce_time", r["created_at"].isoformat().encode()),
                ("content-type", b"application/json"),
            ]
            return await self._producer.send(
                prefixed(self._prefix, r["topic"]), value=r["payload"], key=r["key"].encode(), headers=headers
            )

    async def _quarantine(self, conn: PoolConnectionProxy, r: asyncpg.Record, exc: Exception) -> None:
        """Move a refused row to `outbox_quarantine` (in the claim's transaction), count and log it."""
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        await conn.execute(self._quarantine_sql, r["id"], reason)
        QUARANTINED.labels(self._schema, r["topic"]).inc()
        log.error(
            "outbox_row_quarantined",
            schema=self._schema,
            id=r["id"],
            topic=r["topic"],
            key=r["key"],
            event_type=r["event_type"],
            event_id=r["event_id"],
            size=len(r["payload"]),
            reason=reason,
        )

    async def run(self) -> None:
        """Publish forever: on every NOTIFY (after `linger`), and every `poll_interval` seconds in case one was missed."""
        listener = await asyncpg.connect(self._dsn)
        await listener.add_listener(
            outbox_notify_channel(self._schema), lambda _conn, _pid, _channel, _payload: self._wake.set()
        )
        self.listening.set()
        last_housekeeping = 0.0
        backoff = Backoff(cap=30.0)
        try:
            while True:
                self._wake.clear()
                try:
                    await self.drain()
                    backoff.succeeded()
                    if time.monotonic() - last_housekeeping > 5:
                        last_housekeeping = time.monotonic()
                        await self._housekeep()
                except Exception as exc:  # keep relaying whatever failed: the rows stay unsent
                    delay = backoff.failed()
                    log.warning("outbox_publish_failed", schema=self._schema, error=repr(exc), retry_in=delay)
                    await asyncio.sleep(delay)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                # Under load every commit notifies; gathering the rows of a few milliseconds into one claim
                # makes one transaction and one produce request of what would otherwise be dozens.
                await asyncio.sleep(self._linger)
        finally:
            with contextlib.suppress(Exception):
                await listener.close()
            await self.close()

    async def _housekeep(self) -> None:
        """Report the backlog and the quarantine, and delete sent rows once they are older than the retention."""
        pool = await self._connect()
        async with pool.acquire() as conn:
            BACKLOG.labels(self._schema).set(await conn.fetchval(self._backlog_sql))
            IN_QUARANTINE.labels(self._schema).set(await conn.fetchval(self._quarantined_sql))
            await conn.execute(self._purge_sql, self._sent_retention)

    async def backlog(self) -> int:
        pool = await self._connect()
        async with pool.acquire() as conn:
            return int(await conn.fetchval(self._backlog_sql))
