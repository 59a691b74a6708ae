"""What every schema-owning service's composition root and internal HTTP app share, written once: process set-up
(logging, telemetry), the engine, the container's life cycle, the Litestar app with probes, errors, tracing and
metrics, and the migrations found by convention. A service's `bootstrap.py` and `entrypoints/http/app.py` then hold
only what is its own (its container's extra parts, its controllers, guards and dependencies).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db import create_engine
from headwater.common.db.migrations import migrate
from headwater.common.gc_freeze import freeze_startup_objects
from headwater.common.http import (
    EXCEPTION_HANDLERS,
    SignedPrincipalMiddleware,
    health_handlers,
    observability,
)
from headwater.common.logging import configure_logging
from headwater.common.principal import PrincipalSigner
from headwater.common.settings import ServiceSettings, SettingsError, internal_signing_problem
from headwater.common.telemetry import configure_telemetry


def start_process(service: str, schema: str, settings: ServiceSettings) -> AsyncEngine:
    """Configure logging and telemetry for `service` and build its engine, pinned to `schema` and bounded by the
    settings' database timeouts (the engine connects lazily: nothing here needs the database to be up)."""
    configure_logging(service, level=settings.log_level, json=settings.log_json)
    configure_telemetry(
        service, otlp_endpoint=settings.otel_exporter_otlp_endpoint, environment=settings.environment
    )
    return create_engine(
        settings.database_url, schema=schema, pool_size=settings.db_pool_size, timeouts=settings.db_timeouts
    )


class ServiceContainer:
    """Base of every service's `Container` (a dataclass with at least `settings`, `engine` and `uow_factory`):
    the life cycle the HTTP app and the worker drive. Override `open` for what needs a running event loop, and
    `close` (calling this one) for what must be released besides the engine."""

    engine: AsyncEngine
    settings: Any
    uow_factory: Any

    async def open(self) -> None:
        """Open what needs a running event loop (nothing by default: the engine connects lazily)."""

    async def close(self) -> None:
        await self.engine.dispose()

    async def database_answers(self) -> None:
        """Readiness: the service's database answers a query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))


def create_service_app(
    service: str,
    container: ServiceContainer,
    route_handlers: Sequence[Any],
    *,
    dependencies: Mapping[str, Provide] | None = None,
    guards: Sequence[Callable[..., Any]] = (),
    exception_handlers: Mapping[Any, Any] | None = None,
    readiness: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Litestar:
    """The internal HTTP app of a service: its controllers plus health probes and `/metrics`, the shared error
    bodies, tracing and latency metrics, and the dependencies every controller may ask for (`uow_factory`,
    `settings`) besides the service's own. No OpenAPI document: only the gateway's is public. Every call but
    health and metrics must carry a principal signed with the internal key (SettingsError without one)."""
    if problem := internal_signing_problem(container.settings):
        raise SettingsError(problem)
    plugins, middleware, metrics = observability(service)
    signer = PrincipalSigner(container.settings.internal_signing_key)
    return Litestar(
        route_handlers=[
            *route_handlers,
            *health_handlers([container.database_answers, *readiness]),
            *metrics,
        ],
        dependencies={
            "uow_factory": Provide(lambda: container.uow_factory, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: container.settings, use_cache=True, sync_to_thread=False),
            **(dependencies or {}),
        },
        guards=list(guards),
        exception_handlers={**EXCEPTION_HANDLERS, **(exception_handlers or {})},
        plugins=plugins,
        middleware=[
            *middleware,
            DefineMiddleware(SignedPrincipalMiddleware, service=service, signer=signer),
        ],
        on_startup=[container.open, freeze_startup_objects],
        on_shutdown=[container.close],
        openapi_config=None,
        logging_config=None,  # structlog (configured by start_process) handles every logger
    )


async def migrate_service(package: str, dsn: str, revision: str = "head", *, downgrade: bool = False) -> None:
    """Upgrade (or `downgrade`) the schema of the service `package` (e.g. `headwater.scheduler`) to `revision`,
    found by convention: the schema is `<package>.SCHEMA`, the migrations are `adapters/db/migrations/` beside
    `<package>.adapters.db.tables`, whose `metadata` describes the tables."""
    schema: str = import_module(package).SCHEMA
    tables = import_module(f"{package}.adapters.db.tables")
    metadata: MetaData = tables.metadata
    await migrate(
        dsn,
        schema=schema,
        script_location=Path(str(tables.__file__)).parent / "migrations",
        metadata=metadata,
        revision=revision,
        downgrade=downgrade,
    )
