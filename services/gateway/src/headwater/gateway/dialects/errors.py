"""Error bodies in each dialect's shape.

The OLake UI expects `{"success": false, "message": ...}` (and goes to its login page on 401); every other
dialect served here is FastAPI-shaped (`{"detail": ...}`), which the shared handlers of headwater.common.http
already produce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.routes import HTTPRoute
from msgspec import Struct

from headwater.common.errors import UseCaseError
from headwater.common.http import DATABASE_RETRY_AFTER, EXCEPTION_HANDLERS, database_unavailable, not_utf8
from headwater.common.logging import get_logger
from headwater.gateway.dialects.deps import AnyRequest
from headwater.gateway.dialects.olake.paths import is_olake

OLAKE_MESSAGES = {
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    500: "Internal server error",
}

log = get_logger(__name__)

Handler = Callable[[AnyRequest, Any], Response[Any]]


def olake_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response({"success": False, "message": message}, status_code=status, headers=headers)


def _olake(request: AnyRequest, exc: Exception) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return olake_error(400, str(exc.detail))
    if isinstance(exc, UseCaseError):
        return olake_error(exc.status, exc.detail, exc.headers)
    if isinstance(exc, HTTPException):
        # A refusal keeps the spec's wording, with our reason after it (e.g. which project).
        generic = OLAKE_MESSAGES.get(exc.status_code, str(exc.detail))
        detail = str(exc.detail)
        message = generic if detail in (generic, "Not authenticated") else f"{generic}: {detail}"
        return olake_error(exc.status_code, message, exc.headers)
    return olake_error(500, OLAKE_MESSAGES[500])


def _by_dialect(handler: Handler) -> Handler:
    def handle(request: AnyRequest, exc: Any) -> Response[Any]:
        if not is_olake(request.url.path):
            return handler(request, exc)
        if isinstance(exc, UnicodeDecodeError):
            exc = not_utf8(request, exc)
        if not isinstance(exc, HTTPException | UseCaseError):
            message = database_unavailable(request, exc)
            if message is not None:
                return olake_error(503, message, DATABASE_RETRY_AFTER)
            log.exception("unhandled_error", path=request.url.path, method=request.method)
        return _olake(request, exc)

    return handle


EXCEPTION_HANDLERS_BY_DIALECT: dict[Any, Any] = {exc: _by_dialect(h) for exc, h in EXCEPTION_HANDLERS.items()}


class OlakeError(Struct):
    """An error of the OLake paths."""

    success: bool
    message: str


class Detail(Struct):
    """An error of the FastAPI-shaped dialects (Watcher, Qluster, OpenLineage, lineage, tokens, notifications)."""

    detail: str


class InvalidField(Struct):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(Struct):
    """A refused request of the FastAPI-shaped dialects: which fields and why (a use case's refusal: one line)."""

    detail: list[InvalidField] | str


# What each error status means, for the OpenAPI document.
_MEANINGS = {
    400: "The request is malformed (a body that is not JSON, a parameter of the wrong type)",
    401: "No valid credential (or wrong username or password)",
    403: "The caller's role or project does not allow this",
    404: "Nothing with this id (or not visible to the caller)",
    409: "It conflicts with what is stored (e.g. a name already taken)",
    422: "The request is well-formed but a field is invalid",
    413: "What it would record is too large to publish (an event over the size a Kafka record takes): send less",
    429: "Too many attempts: retry after `Retry-After` seconds",
    502: "A service's answer is larger than the gateway relays: ask for less (a smaller limit or depth)",
    503: "A service or the database is unavailable: retry after `Retry-After` seconds",
}
_LOGINS = frozenset({"/login", "/signup", "/token"})


def _error_statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> list[int]:
    """The error statuses `handler` on `route` can answer: every request may be malformed or meet a service or
    the database down; a guarded one (or a public one about one record) refuses callers and may find nothing (or
    nothing the caller may see); a
    write may conflict or be too large to publish; a guarded route relays a service's answer unless it is too
    large; the login routes refuse wrong passwords (and closed sign-ups) and throttle."""
    statuses = [400, 503]
    if handler.opt.get("permission") != "public":
        statuses += [401, 403, 404, 502]
    elif route.path in _LOGINS:
        statuses += [401, 403]
    elif "{" in route.path:  # a public route about one record (a signed upload URL): its credential is in the
        statuses += [403, 404, 502]  # URL, the record may be gone, the service's answer is relayed
    if handler.http_methods & {"POST", "PUT", "PATCH", "DELETE"}:
        statuses += [409, 413]
    statuses.append(422)  # an invalid field (on the OLake paths: a refused value; an invalid field is a 400)
    if route.path in _LOGINS:
        statuses.append(429)
    return statuses


def document_errors(app: Litestar) -> Litestar:
    """Document on every route of `app` the errors it answers, in its dialect's shape (`{success, message}` on
    the OLake paths, `{detail}` elsewhere) instead of Litestar's default `{status_code, detail, extra}`, and mark
    the public routes as needing no credential, so that clients and fuzzers generated from the OpenAPI document
    read the answers right. Runs before the document is first built (it is built lazily)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            olake = is_olake(route.path)
            documented = dict(handler.responses or {})
            for status in _error_statuses(route, handler):
                shape: type[Struct] = OlakeError if olake else Invalid if status == 422 else Detail
                documented.setdefault(
                    status, ResponseSpec(data_container=shape, description=_MEANINGS[status])
                )
            handler.responses = documented
            if handler.opt.get("permission") == "public":
                handler.security = [{}]  # an empty requirement: callable without a credential
    return app
