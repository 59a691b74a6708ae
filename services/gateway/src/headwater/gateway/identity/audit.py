"""The audit log: every write through the gateway — who, what, when and with what outcome.

Recorded after the response is sent (the client does not wait for it), for every method but GET, HEAD and
OPTIONS, including refused writes (401/403/429), which are what a security review looks for. Only the method,
path, status, principal and client address are kept: never a body, a query string or a header, so no secret
reaches the log.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from prometheus_client import Counter

from headwater.common.logging import get_logger
from headwater.gateway.identity.guard import principal_in

log = get_logger(__name__)

AUDIT_FAILURES = Counter("headwater_gateway_audit_failures_total", "Audit log rows that could not be written")

UNAUDITED = frozenset({"GET", "HEAD", "OPTIONS"})


def audit_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNAUDITED:
            await app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            await _record(scope, status)

    return middleware


async def _record(scope: Scope, status: int) -> None:
    principal = principal_in(scope)
    client = scope.get("client")
    ctx = trace.get_current_span().get_span_context()
    entry: dict[str, Any] = {
        "subject": principal.subject if principal else "anonymous",
        "username": principal.username if principal else "",
        "via": principal.via if principal else "none",
        "method": scope.get("method", ""),
        "path": scope["path"][:2000],
        "status": status,
        "address": client[0] if client else "",
        "trace_id": format(ctx.trace_id, "032x") if ctx.is_valid else None,
    }
    try:
        await scope["app"].state.identity.store.audit(entry)  # type: ignore[index]
    except Exception:  # the audit must never turn an answered request into an error
        AUDIT_FAILURES.inc()
        log.exception("audit_write_failed", **{k: v for k, v in entry.items() if k != "trace_id"})
