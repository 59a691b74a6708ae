"""The internal HTTP app factory of execution-tracking (`granian --factory`)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from sqlalchemy.exc import DBAPIError

from headwater.common.db.errors import is_data_exception
from headwater.common.http import refuse_limited_to_source, unexpected_error
from headwater.common.service import create_service_app
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
    """A value Postgres cannot store (class 22, data exception) is the client's mistake: 422, not 500; any
    other database error is answered as the shared handler does (503 when the database is away)."""
    if is_data_exception(exc):
        return Response({"detail": f"value rejected: {exc.orig}"}, status_code=422)
    return unexpected_error(request, exc)


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()
    return create_service_app(
        SERVICE,
        c,
        [
            PipelineTypeController,
            PipelineController,
            ExecutionController,
            RetentionController,
            AddressTypeController,
            AddressController,
            LineageController,
            OpenLineageController,
        ],
        dependencies=dependencies(c),
        # Pipelines, executions and lineage belong to no data source: a `limited_to_source` principal sees none.
        guards=[refuse_limited_to_source],
        exception_handlers={DBAPIError: database_rejected},
    )
