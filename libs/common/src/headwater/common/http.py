"""What every Litestar app of Headwater shares: error bodies, the caller's principal, health probes, tracing
and metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.params import FromQuery
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from headwater.common.contracts.types import PATTERN_MEANINGS
from headwater.common.db.errors import is_statement_timeout, is_transient
from headwater.common.errors import UseCaseError
from headwater.common.logging import get_logger
from headwater.common.paging import MAX_LIMIT, Cursor
from headwater.common.principal import (
    HEADER,
    SIGNATURE_HEADER,
    InvalidPrincipal,
    Principal,
    PrincipalSigner,
    Unauthenticated,
)

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
            details.append(
                {"loc": loc, "msg": _readable(item.get("message", str(exc.detail))), "type": "value_error"}
            )
    if not details:
        details.append({"loc": ["body"], "msg": str(exc.detail), "type": "value_error"})
    return Response({"detail": details}, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def _readable(message: str) -> str:
    """A validation message with the shared text patterns named by what they mean, not spelled as regexes."""
    for pattern, meaning in PATTERN_MEANINGS.items():
        message = message.replace(f"`str` matching regex {pattern!r}", meaning)
    return message


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return Response({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


# What a caller is told when the database is away or too slow (the exception itself is logged, never sent).
DATABASE_UNAVAILABLE = "database temporarily unavailable, retry shortly"
STATEMENT_TIMEOUT = "the database did not answer in time (statement timeout), retry shortly or ask for less"
DATABASE_RETRY_AFTER = {"retry-after": "5"}

DATABASE_REFUSALS = Counter(
    "headwater_http_database_unavailable_total",
    "Requests answered 503 because the database was away (unavailable) or too slow (statement_timeout)",
    ["reason"],
)


def database_unavailable(request: Request[Any, Any, Any], exc: BaseException) -> str | None:
    """When `exc` says the database is away or ran out of time (nothing was written, the same request may
    succeed later): log and count it and return what to tell the caller with a 503; otherwise None."""
    if is_statement_timeout(exc):
        reason, message = "statement_timeout", STATEMENT_TIMEOUT
    elif is_transient(exc):
        reason, message = "unavailable", DATABASE_UNAVAILABLE
    else:
        return None
    DATABASE_REFUSALS.labels(reason).inc()
    log.warning(
        "database_unavailable", reason=reason, path=request.url.path, method=request.method, error=repr(exc)
    )
    return message


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """500 for a bug; 503 with `Retry-After` for a database that is away or too slow."""
    message = database_unavailable(request, exc)
    if message is not None:
        return Response({"detail": message}, status_code=503, headers=DATABASE_RETRY_AFTER)
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    return Response({"detail": "Internal Server Error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


def not_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> ClientException:
    """The 400 of a request body that is not UTF-8. msgspec raises UnicodeDecodeError, not DecodeError, for
    such bytes inside a JSON string (a lone surrogate encoded with "surrogatepass", Latin-1 text), which Litestar
    lets through as a 500; nothing else decodes client bytes in a handler's path."""
    log.info("request_refused", reason="not_utf8", path=request.url.path, method=request.method)
    return ClientException(f"the request body is not valid UTF-8 ({exc.reason})")


def undecodable_body(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    return http_error(request, not_utf8(request, exc))


def use_case_error(request: Request[Any, Any, Any], exc: UseCaseError) -> Response[Any]:
    """A use case refused the request: its status (404, 409, 422, ...) with a FastAPI-style `detail`."""
    return Response({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    UseCaseError: use_case_error,
    ValidationException: validation_error,
    NotFoundException: http_error,
    HTTPException: http_error,
    UnicodeDecodeError: undecodable_body,
    Exception: unexpected_error,
}


def _scope_value(scope: Any, key: str) -> object:
    """A value of an ASGI scope (a TypedDict union whose `get` the checker cannot type), or None."""
    return cast("dict[str, object]", scope).get(key)


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = _scope_value(connection.scope, "user")
    if not isinstance(principal, Principal):  # a route the signature check skips: never one serving data
        raise NotAuthorizedException("this route takes no principal")
    return principal


def caller(request: Request[Any, Any, Any]) -> Principal:
    """The principal the gateway passed in (verified by `SignedPrincipalMiddleware`), as a dependency for
    handlers that scope what they return to it: `Provide(caller, sync_to_thread=False)`."""
    return _principal(request)


LIMITED_TO_SOURCE_REFUSED = "limited_to_source users may only access the data sources they are granted"


def refuse_limited_to_source(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard of routes whose data belongs to no data source: a `limited_to_source` principal may see none
    of it (403). Health probes and metrics, which take no principal, pass."""
    principal = _scope_value(connection.scope, "user")
    if isinstance(principal, Principal) and principal.limited_to_sources:
        raise PermissionDeniedException(LIMITED_TO_SOURCE_REFUSED)


# How a controller names the cursor `cursor_query` gives it.
CursorQuery = NamedDependency[Cursor]


def cursor_query(
    start: FromQuery[int | None] = None,
    end: FromQuery[int | None] = None,
    limit: FromQuery[int] = 20,
    reverse: FromQuery[bool] = True,
) -> Cursor:
    """The query parameters of a cursor-paged listing (a Litestar dependency: `Provide(cursor_query, ...)`)."""
    if start is not None and end is not None:
        raise ValidationException("pass either `start` or `end`, not both")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationException(f"`limit` must be between 1 and {MAX_LIMIT}")
    return Cursor(start=start, end=end, limit=limit, reverse=reverse)


def health_handlers(readiness: Sequence[ReadinessCheck] = ()) -> list[Any]:
    """`/health/live` (the process answers) and `/health/ready` (its dependencies answer too). The probes are
    anonymous: why a check failed is logged, never sent."""

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
                return Response({"status": "unavailable"}, status_code=503)
        return Response({"status": "ok"})

    return [live, ready]


UNSIGNED_PATHS = ("/health/", "/metrics")  # what anyone who reaches the port may call

INTERNAL_CALLS_REFUSED = Counter(
    "headwater_internal_calls_refused_total",
    "Calls to a service's internal API refused because their principal was not signed with the shared key, "
    "by reason (unsigned, malformed, expired, forged)",
    ["service", "reason"],
)


class SignedPrincipalMiddleware:
    """Lets in only calls whose principal is signed with the internal key (see `PrincipalSigner`), and puts
    the verified principal in the scope's `user` for `caller` and the guards; health probes and `/metrics`
    need no signature. A refused call is 401 (`{"detail": ...}`), counted and logged; a signed header that is
    not a principal is 400."""

    def __init__(self, app: ASGIApp, *, service: str, signer: PrincipalSigner) -> None:
        self.app = app
        self.service = service
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(UNSIGNED_PATHS):
            scope["user"] = self._verified(scope)
        await self.app(scope, receive, send)

    def _verified(self, scope: HTTPScope) -> Principal:
        principal = signature = None
        for name, value in scope["headers"]:
            if name == _HEADER:  # UTF-8 JSON, as the gateway sends it (a user's name may be any text)
                principal = value.decode("utf-8", "surrogateescape")
            elif name == _SIGNATURE_HEADER:
                signature = value.decode("latin-1")
        try:
            return self.signer.verify(
                scope["method"], scope["path"], scope["query_string"].decode("latin-1"), principal, signature
            )
        except Unauthenticated as exc:
            INTERNAL_CALLS_REFUSED.labels(self.service, exc.reason).inc()
            client = scope.get("client")  # pyright: ignore[reportUnknownMemberType]  # ASGI's TypedDict union
            log.warning(
                "internal_call_refused",
                reason=exc.reason,
                method=scope["method"],
                path=scope["path"],
                peer=client[0] if client else None,
            )
            raise NotAuthorizedException(str(exc)) from exc
        except InvalidPrincipal as exc:  # signed, so the caller's own mistake: 400, not 500
            raise ClientException(str(exc)) from exc


_HEADER = HEADER.encode()
_SIGNATURE_HEADER = SIGNATURE_HEADER.encode()


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
