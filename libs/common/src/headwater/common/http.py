"""What every Litestar app of Headwater shares: error bodies, the caller's principal, health probes, tracing
and metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest

from headwater.common.errors import UseCaseError
from headwater.common.logging import get_logger
from headwater.common.principal import HEADER, InvalidPrincipal, Principal, from_header

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """422 with a FastAPI-style body (`detail` list with `loc`, `msg`, `type`), as Watcher clients expect."""
    details: list[dict[str, Any]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            item = cast("dict[str, Any]", item)  # litestar's `extra` is a list[Any]
            key = item.get("key")
            loc: list[Any] = [item.get("source") or "body"]
            if key:
                loc.extend(str(key).split("."))
            details.append({"loc": loc, "msg": item.get("message", str(exc.detail)), "type": "value_error"})
    if not details:
        details.append({"loc": ["body"], "msg": str(exc.detail), "type": "value_error"})
    return Response({"detail": details}, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return Response({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    return Response({"detail": "Internal Server Error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


def use_case_error(request: Request[Any, Any, Any], exc: UseCaseError) -> Response[Any]:
    """A use case refused the request: its status (404, 409, 422, ...) with a FastAPI-style `detail`."""
    return Response({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    UseCaseError: use_case_error,
    ValidationException: validation_error,
    NotFoundException: http_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    try:
        return from_header(connection.headers.get(HEADER))
    except InvalidPrincipal as exc:  # a malformed header is the caller's mistake: 400, not 500
        raise ClientException(str(exc)) from exc


def caller(request: Request[Any, Any, Any]) -> Principal:
    """The principal the gateway passed in (`SYSTEM` without the header), as a dependency for handlers that
    scope what they return to it: `Provide(caller, sync_to_thread=False)`."""
    return _principal(request)


LIMITED_TO_SOURCE_REFUSED = "limited_to_source users may only access the data sources they are granted"


def refuse_limited_to_source(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard of routes whose data belongs to no data source: a `limited_to_source` principal may see none
    of it (403). Requests without the header (health probes, internal tools) act as `SYSTEM` and pass."""
    if _principal(connection).limited_to_sources:
        raise PermissionDeniedException(LIMITED_TO_SOURCE_REFUSED)


def health_handlers(readiness: Sequence[ReadinessCheck] = ()) -> list[Any]:
    """`/health/live` (the process answers) and `/health/ready` (its dependencies answer too)."""

    @get("/health/live", include_in_schema=False, sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @get("/health/ready", include_in_schema=False)
    async def ready() -> Response[dict[str, str]]:
        for check in readiness:
            try:
                await check()
            except Exception as exc:
                log.warning("not_ready", check=getattr(check, "__name__", "check"), error=repr(exc))
                return Response({"status": "unavailable", "reason": repr(exc)}, status_code=503)
        return Response({"status": "ok"})

    return [live, ready]


class ObservedSend:
    """An ASGI `send` that passes every message on and keeps the status of the response it starts: 500 until
    then (the app raised before answering)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


class TelemetryMiddleware:
    """One server span and one latency observation per request, as cheaply as the hot path needs.

    The span continues the caller's `traceparent`, so the trace follows a request from the gateway into the
    services and, through the outbox rows written under it, onto Kafka. Metrics are labelled by route template
    (not the raw path) to keep their cardinality bounded. Health and metrics requests are left out.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNOBSERVED):
            await self.app(scope, receive, send)
            return
        carrier = {k.decode(): v.decode() for k, v in scope["headers"] if k in _TRACE_HEADERS}
        observed_send = ObservedSend(send)
        method = scope["method"]
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            method, context=propagate.extract(carrier) if carrier else None, kind=trace.SpanKind.SERVER
        ) as span:
            try:
                await self.app(scope, receive, observed_send)
            finally:
                status = observed_send.status
                route = scope.get("path_template") or "unmatched"
                REQUEST_SECONDS.labels(self.service, method, route, str(status)).observe(
                    time.perf_counter() - started
                )
                if span.is_recording():
                    span.update_name(f"{method} {route}")
                    span.set_attributes(
                        {
                            "http.request.method": method,
                            "http.route": route,
                            "http.response.status_code": status,
                        }
                    )
                    if status >= 500:
                        span.set_status(trace.StatusCode.ERROR)


_UNOBSERVED = ("/health", "/metrics")
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
_tracer = trace.get_tracer("headwater.http")

REQUEST_SECONDS = Histogram(
    "headwater_http_request_duration_seconds",
    "HTTP requests served, by route template and status",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def observability(service: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(plugins, middleware, route handlers): tracing and latency metrics, and `/metrics`."""
    return [], [DefineMiddleware(TelemetryMiddleware, service=service)], [metrics]
