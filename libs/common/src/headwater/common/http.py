"""What every Litestar app of Headwater shares: error bodies, health probes, tracing and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

from headwater.common.logging import get_logger

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """422 with a FastAPI-style body (`detail` list with `loc`, `msg`, `type`), as Watcher clients expect."""
    details: list[dict[str, Any]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
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


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: validation_error,
    NotFoundException: http_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


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


def observability(service: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(plugins, middleware, route handlers) for OpenTelemetry spans and Prometheus metrics at `/metrics`."""
    prometheus = PrometheusConfig(
        app_name=f"headwater-{service}",
        prefix="headwater_http",
        group_path=True,
        exclude=["/health", "/metrics"],
    )
    plugins = [OpenTelemetryPlugin(OpenTelemetryConfig(exclude=["/health", "/metrics"]))]

    class Metrics(PrometheusController):
        path = "/metrics"
        include_in_schema = False

    return plugins, [prometheus.middleware], [Metrics]
