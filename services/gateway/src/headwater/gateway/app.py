"""The gateway's HTTP app factory (`granian --factory`): every public dialect, health, docs and metrics."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from headwater.common.heap import freeze_startup_objects
from headwater.common.http import EXCEPTION_HANDLERS, health_handlers, observability
from headwater.gateway import SERVICE
from headwater.gateway.bootstrap import Container, bootstrap
from headwater.gateway.dialects.alerting.notification_routes import ROUTES as NOTIFICATION_ROUTES
from headwater.gateway.dialects.lineage.routes import ROUTES as LINEAGE_ROUTES
from headwater.gateway.dialects.openlineage.routes import ROUTES as OPENLINEAGE_ROUTES
from headwater.gateway.dialects.qluster.routes import ROUTES as QLUSTER_ROUTES
from headwater.gateway.dialects.watcher.anomaly_routes import ROUTES as ANOMALY_ROUTES
from headwater.gateway.dialects.watcher.check_routes import ROUTES as CHECK_ROUTES
from headwater.gateway.dialects.watcher.retention_routes import ROUTES as RETENTION_ROUTES
from headwater.gateway.dialects.watcher.routes import ROUTES as WATCHER_ROUTES
from headwater.gateway.identity import resolve_principal
from headwater.gateway.upstream import UpstreamUnavailable


@get("/", include_in_schema=False, sync_to_thread=False)
def root() -> dict[str, str]:
    return {"status": "ok"}


def upstream_unavailable(request: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[Any]:
    return Response(
        {"detail": "service temporarily unavailable, retry shortly"},
        status_code=503,
        headers={"retry-after": "1"},
    )


def create_app(container: Container | None = None) -> Litestar:
    c = container or bootstrap()
    plugins, middleware, metrics = observability(SERVICE)
    return Litestar(
        route_handlers=[
            root,
            *WATCHER_ROUTES,
            *LINEAGE_ROUTES,
            *OPENLINEAGE_ROUTES,
            *ANOMALY_ROUTES,
            *CHECK_ROUTES,
            *RETENTION_ROUTES,
            *QLUSTER_ROUTES,
            *NOTIFICATION_ROUTES,
            *health_handlers([u.ready for u in c.upstreams]),
            *metrics,
        ],
        dependencies={
            "principal": Provide(resolve_principal),
            "execution_tracking": Provide(lambda: c.execution_tracking, use_cache=True, sync_to_thread=False),
            "quality_alerting": Provide(lambda: c.quality_alerting, use_cache=True, sync_to_thread=False),
            "scheduler": Provide(lambda: c.scheduler, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={**EXCEPTION_HANDLERS, UpstreamUnavailable: upstream_unavailable},
        plugins=plugins,
        middleware=middleware,
        on_startup=[freeze_startup_objects],
        on_shutdown=[c.close],
        logging_config=None,  # structlog (configured in bootstrap) handles every logger
        openapi_config=OpenAPIConfig(
            title="Headwater",
            version="0.1.0",
            description="The control plane for data pipelines. Serves the Watcher API (spec 000) at the root "
            "paths, lineage graph queries under /lineage and OpenLineage ingestion at /api/v1/lineage.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
    )
