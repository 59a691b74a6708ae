"""Error bodies in each dialect's shape.

The OLake UI expects `{"success": false, "message": ...}` (and goes to its login page on 401); every other
dialect served here is FastAPI-shaped (`{"detail": ...}`), which the shared handlers of headwater.common.http
already produce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Response
from litestar.exceptions import HTTPException, ValidationException

from headwater.common.errors import UseCaseError
from headwater.common.http import DATABASE_RETRY_AFTER, EXCEPTION_HANDLERS, database_unavailable, not_utf8
from headwater.common.logging import get_logger
from headwater.gateway.dialects.deps import AnyRequest

OLAKE_PATHS = frozenset({"/login", "/signup", "/auth", "/auth/check", "/logout"})
OLAKE_PREFIX = "/api/v1/project/"
OLAKE_MESSAGES = {
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    500: "Internal server error",
}

log = get_logger(__name__)

Handler = Callable[[AnyRequest, Any], Response[Any]]


def is_olake(path: str) -> bool:
    return path in OLAKE_PATHS or path.startswith(OLAKE_PREFIX)


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
