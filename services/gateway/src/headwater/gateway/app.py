"""The gateway's HTTP app factory (`granian --factory`): every public dialect behind authentication, health,
docs and metrics."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

from headwater.common.gc_freeze import freeze_startup_objects
from headwater.common.http import health_handlers, observability
from headwater.gateway import SERVICE
from headwater.gateway.bootstrap import Container, bootstrap
from headwater.gateway.dialects.admin.audit_routes import ROUTES as AUDIT_ROUTES
from headwater.gateway.dialects.alerting.notification_routes import ROUTES as NOTIFICATION_ROUTES
from headwater.gateway.dialects.deps import (
    to_execution_tracking,
    to_ingestion,
    to_quality_alerting,
    to_scheduler,
)
from headwater.gateway.dialects.errors import (
    EXCEPTION_HANDLERS_BY_DIALECT,
    document_errors,
    olake_error,
)
from headwater.gateway.dialects.lineage.routes import ROUTES as LINEAGE_ROUTES
from headwater.gateway.dialects.olake.auth_routes import ROUTES as OLAKE_AUTH_ROUTES
from headwater.gateway.dialects.olake.destination_routes import ROUTES as OLAKE_DESTINATION_ROUTES
from headwater.gateway.dialects.olake.job_routes import ROUTES as OLAKE_JOB_ROUTES
from headwater.gateway.dialects.olake.paths import is_olake
from headwater.gateway.dialects.olake.project_routes import ROUTES as PROJECT_ROUTES
from headwater.gateway.dialects.olake.source_routes import ROUTES as OLAKE_SOURCE_ROUTES
from headwater.gateway.dialects.openlineage.routes import ROUTES as OPENLINEAGE_ROUTES
from headwater.gateway.dialects.qluster.data_routes import ROUTES as QLUSTER_DATA_ROUTES
from headwater.gateway.dialects.qluster.error_routes import ROUTES as FATAL_ERROR_ROUTES
from headwater.gateway.dialects.qluster.file_routes import ROUTES as QLUSTER_FILE_ROUTES
from headwater.gateway.dialects.qluster.metadata_routes import ROUTES as QLUSTER_METADATA_ROUTES
from headwater.gateway.dialects.qluster.routes import ROUTES as QLUSTER_ROUTES
from headwater.gateway.dialects.qluster.user_routes import ROUTES as USER_ROUTES
from headwater.gateway.dialects.tokens.routes import ROUTES as TOKEN_ROUTES
from headwater.gateway.dialects.watcher.anomaly_routes import ROUTES as ANOMALY_ROUTES
from headwater.gateway.dialects.watcher.retention_routes import ROUTES as RETENTION_ROUTES
from headwater.gateway.dialects.watcher.routes import ROUTES as WATCHER_ROUTES
from headwater.gateway.identity.audit import audit_middleware
from headwater.gateway.identity.cors import cors_middleware
from headwater.gateway.identity.guard import authorize, current_principal
from headwater.gateway.upstream import UpstreamTooLarge, UpstreamUnavailable


@get("/", include_in_schema=False, sync_to_thread=False, opt={"permission": "public"})
def root() -> dict[str, str]:
    return {"status": "ok"}


def upstream_unavailable(request: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[Any]:
    message = "service temporarily unavailable, retry shortly"
    headers = {"retry-after": str(exc.retry_after)}
    if is_olake(request.url.path):
        return olake_error(503, message, headers)
    return Response({"detail": message}, status_code=503, headers=headers)


def upstream_too_large(request: Request[Any, Any, Any], exc: UpstreamTooLarge) -> Response[Any]:
    if is_olake(request.url.path):
        return olake_error(502, str(exc))
    return Response({"detail": str(exc)}, status_code=502)


def public(handlers: list[Any]) -> list[Any]:
    """Mark handlers (health probes) as reachable without credentials."""
    for handler in handlers:
        handler.opt["permission"] = "public"
    return handlers


def create_app(container: Container | None = None) -> Litestar:
    c = container or bootstrap()
    plugins, middleware, metrics = observability(SERVICE)
    app = Litestar(
        route_handlers=[
            root,
            *OLAKE_AUTH_ROUTES,
            *USER_ROUTES,
            *TOKEN_ROUTES,
            *PROJECT_ROUTES,
            *OLAKE_SOURCE_ROUTES,
            *OLAKE_DESTINATION_ROUTES,
            *OLAKE_JOB_ROUTES,
            *AUDIT_ROUTES,
            *WATCHER_ROUTES,
            *ANOMALY_ROUTES,
            *LINEAGE_ROUTES,
            *OPENLINEAGE_ROUTES,
            *RETENTION_ROUTES,
            *QLUSTER_ROUTES,
            *QLUSTER_METADATA_ROUTES,
            *FATAL_ERROR_ROUTES,
            *QLUSTER_DATA_ROUTES,
            *QLUSTER_FILE_ROUTES,
            *NOTIFICATION_ROUTES,
            *public(health_handlers([c.database_ready])),
            *metrics,
        ],
        guards=[authorize],
        dependencies={
            "principal": Provide(current_principal, sync_to_thread=False),
            "settings": Provide(lambda: c.settings, use_cache=True, sync_to_thread=False),
            "identity": Provide(lambda: c.identity, use_cache=True, sync_to_thread=False),
            "audit": Provide(lambda: c.audit, use_cache=True, sync_to_thread=False),
            "execution_tracking": Provide(lambda: c.execution_tracking, use_cache=True, sync_to_thread=False),
            "quality_alerting": Provide(lambda: c.quality_alerting, use_cache=True, sync_to_thread=False),
            "scheduler": Provide(lambda: c.scheduler, use_cache=True, sync_to_thread=False),
            "ingestion": Provide(lambda: c.ingestion, use_cache=True, sync_to_thread=False),
            "to_execution_tracking": Provide(to_execution_tracking, sync_to_thread=False),
            "to_quality_alerting": Provide(to_quality_alerting, sync_to_thread=False),
            "to_scheduler": Provide(to_scheduler, sync_to_thread=False),
            "to_ingestion": Provide(to_ingestion, sync_to_thread=False),
        },
        state=State({"identity": c.identity, "audit": c.audit}),
        exception_handlers={
            **EXCEPTION_HANDLERS_BY_DIALECT,
            UpstreamUnavailable: upstream_unavailable,
            UpstreamTooLarge: upstream_too_large,
        },
        plugins=plugins,
        # Tracing/metrics, then the audit of writes; CORS wraps the whole app (below).
        middleware=[*middleware, audit_middleware],
        on_startup=[freeze_startup_objects, c.open],
        on_shutdown=[c.close],
        logging_config=None,  # structlog (configured in bootstrap) handles every logger
        openapi_config=OpenAPIConfig(
            title="Headwater",
            version="0.1.0",
            description="The control plane for data pipelines. Serves the Watcher API (spec 000) at the root "
            "paths, lineage graph queries under /lineage, OpenLineage ingestion at /api/v1/lineage, Qluster "
            "alerts, fatal errors, users, datasets, data sources, destinations, their data, stored items (file uploads) and ingestion jobs, OLake login and projects. Every route but health, /login, /signup and /token "
            "needs a session cookie (POST /login), an access token (POST /token) or an API token "
            "(POST /api/v1/tokens), the last two as `Authorization: Bearer <token>`.",
            # The documentation describes an open-source API and holds no data: served without a credential.
            openapi_router=Router(
                "/schema",
                route_handlers=[],
                include_in_schema=False,
                dto=None,
                return_dto=None,
                opt={"permission": "public"},
            ),
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "OAuth2PasswordBearer": SecurityScheme(
                        type="oauth2", flows=OAuthFlows(password=OAuthFlow(token_url="/token", scopes={}))
                    ),
                    "BearerToken": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"OAuth2PasswordBearer": []}, {"BearerToken": []}],
        ),
    )
    # CORS outermost, around the router itself: a preflight needs no credentials, and every answer to an allowed
    # origin carries the CORS headers, also a 404 or a 405 of a path no route serves (which route middleware
    # never sees) — else the browser reports a CORS failure instead of the answer.
    app.asgi_handler = cors_middleware(c.settings.cors_origins)(app.asgi_handler)
    return document_errors(app)
