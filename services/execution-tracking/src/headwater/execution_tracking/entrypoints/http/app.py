"""The internal HTTP app factory of execution-tracking (`granian --factory`)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from headwater.common.heap import freeze_startup_objects
from headwater.common.http import (
    EXCEPTION_HANDLERS,
    health_handlers,
    observability,
    refuse_limited_to_source,
)
from headwater.execution_tracking import SERVICE
from headwater.execution_tracking.bootstrap import Container, bootstrap
from headwater.execution_tracking.entrypoints.http.controllers import (
    ExecutionController,
    PipelineController,
    PipelineTypeController,
    RetentionController,
    dependencies,
)
from headwater.execution_tracking.entrypoints.http.lineage_controllers import (
    AddressController,
    AddressTypeController,
    LineageController,
    OpenLineageController,
)


def database_rejected(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A value Postgres cannot store (class 22, data exception) is the client's mistake: 422, not 500."""
    sqlstate = str(
        getattr(exc.orig, "sqlstate", "") or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", "")
    )
    if sqlstate.startswith("22"):
        return Response({"detail": f"value rejected: {exc.orig}"}, status_code=422)
    raise exc


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()

    async def database_answers() -> None:
        async with c.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    plugins, middleware, metrics = observability(SERVICE)
    return Litestar(
        route_handlers=[
            PipelineTypeController,
            PipelineController,
            ExecutionController,
            RetentionController,
            AddressTypeController,
            AddressController,
            LineageController,
            OpenLineageController,
            *health_handlers([database_answers]),
            *metrics,
        ],
        dependencies=dependencies(c),
        # Pipelines, executions and lineage belong to no data source: a `limited_to_source` principal sees none.
        guards=[refuse_limited_to_source],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            DBAPIError: database_rejected,
        },
        plugins=plugins,
        middleware=middleware,
        on_startup=[c.open, freeze_startup_objects],
        on_shutdown=[c.close],
        openapi_config=None,
        logging_config=None,  # structlog (configured in bootstrap) handles every logger
    )
