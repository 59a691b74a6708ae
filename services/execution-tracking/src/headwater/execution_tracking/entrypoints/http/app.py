"""The internal HTTP app factory of execution-tracking (`granian --factory`)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError

from headwater.common.db.errors import data_exception_detail, is_data_exception, sqlstate_of
from headwater.common.http import refuse_limited_to_source, unexpected_error
from headwater.common.logging import get_logger
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

log = get_logger(__name__)

VALUES_REJECTED = Counter(
    "headwater_execution_tracking_values_rejected_total",
    "Requests answered 422 because Postgres refused a value (a data exception), by SQLSTATE",
    ["sqlstate"],
)


def database_rejected(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A value Postgres cannot store (class 22, data exception) is the client's mistake: 422, not 500, told
    in our words (Postgres' own text stays in the log); any other database error is answered as the shared
    handler does (503 when the database is away)."""
    if is_data_exception(exc):
        sqlstate = sqlstate_of(exc)
        VALUES_REJECTED.labels(sqlstate).inc()
        log.warning("value_rejected", path=request.url.path, sqlstate=sqlstate, error=str(exc.orig))
        return Response({"detail": data_exception_detail(exc)}, status_code=422)
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
