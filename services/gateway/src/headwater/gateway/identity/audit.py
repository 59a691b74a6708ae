"""The audit log: every write through the gateway — who, what, when and with what outcome.

Recorded for every method but GET, HEAD and OPTIONS, including refused writes (401/403/429), which are what a
security review looks for. Only the method, path, status, principal, client address and trace id are kept:
never a body, a query string or a header, so no secret reaches the log.

Rows are written in batches after the responses are sent: one insert per request doubled the commits on the
start/end hot path and cost more than half its throughput (`python -m bench --only http`). A row waits at most
`linger` (50 ms) in memory, so a killed gateway process can lose the audit of its last 50 ms of writes; a
stopped one flushes first. An insert the database could not take for a while (connection lost, server
restarting) is retried; one it refuses for its data is written row by row, and a row it still refuses is logged
and dropped, so no single request can stop the audit of every later one. Control characters and lone
surrogates (a path of `%00`, say) are escaped before they are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, Protocol

from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send
from opentelemetry import trace
from prometheus_client import Counter

from headwater.common.db.errors import is_transient
from headwater.common.http import ObservedSend
from headwater.common.logging import get_logger
from headwater.gateway.identity.guard import principal_in

log = get_logger(__name__)

AUDIT_FAILURES = Counter("headwater_gateway_audit_failures_total", "Audit log rows that could not be written")

UNAUDITED = frozenset({"GET", "HEAD", "OPTIONS"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str, limit: int) -> str:
    """`text` as Postgres takes it: control characters as `\\xNN`, lone surrogates backslash-escaped, cut to
    `limit` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)[:limit]


class AuditStore(Protocol):
    async def audit(self, entries: list[dict[str, Any]]) -> None: ...


class AuditWriter:
    """Collects audit rows and inserts them in batches from one background task per process."""

    def __init__(
        self, store: AuditStore, *, linger: float = 0.05, max_batch: int = 1000, max_pending: int = 100_000
    ) -> None:
        self._store = store
        self._linger = linger
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        if len(self._pending) >= self._max_pending:  # the database has been down for a long time
            AUDIT_FAILURES.inc()
            log.error("audit_dropped", **_loggable(entry))
            return
        self._pending.append(entry)
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._linger)
            self._wake.clear()
            if not await self.flush():
                await asyncio.sleep(1.0)  # the store failed: retry the same rows shortly
                self._wake.set()

    async def flush(self) -> bool:
        """Write everything pending; False when the database is away (the rows stay pending for a retry)."""
        async with self._lock:
            while self._pending:
                batch = self._pending[: self._max_batch]
                try:
                    await self._store.audit(batch)
                except Exception as exc:
                    log.exception("audit_write_failed", pending=len(self._pending))
                    if is_transient(exc) or not await self._one_by_one(batch):
                        return False
                del self._pending[: len(batch)]
        return True

    async def _one_by_one(self, batch: list[dict[str, Any]]) -> bool:
        """Write a refused batch row by row, dropping (and logging) each row the database refuses for its data;
        False when the database went away meanwhile (the batch then stays pending, whole)."""
        for entry in batch:
            try:
                await self._store.audit([entry])
            except Exception as exc:
                if is_transient(exc):
                    return False
                AUDIT_FAILURES.inc()
                log.error("audit_row_dropped", error=type(exc).__name__, **_loggable(entry))
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def audit_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNAUDITED:
            await app(scope, receive, send)
            return
        observed_send = ObservedSend(send)
        try:
            await app(scope, receive, observed_send)
        finally:
            _record(scope, observed_send.status)

    return middleware


def _record(scope: HTTPScope, status: int) -> None:
    principal = principal_in(scope)
    ctx = trace.get_current_span().get_span_context()
    scope["app"].state.audit.record(  # type: ignore[index]
        {
            "subject": principal.subject if principal else "anonymous",
            "username": printable(principal.username, 150) if principal else "",
            "via": principal.via if principal else "none",
            "method": scope["method"],  # an HTTP scope (the middleware read it already)
            "path": printable(scope["path"], 2000),
            "status": status,
            "address": printable(scope["app"].state.identity.address_of(scope), 64),  # type: ignore[index]
            "trace_id": format(ctx.trace_id, "032x") if ctx.is_valid else None,
        }
    )


def _loggable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "trace_id"}
