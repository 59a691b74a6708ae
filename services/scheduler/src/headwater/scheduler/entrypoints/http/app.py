"""The internal HTTP app factory of scheduler (`granian --factory`)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from sqlalchemy import text

from headwater.common.heap import freeze_startup_objects
from headwater.common.http import (
    EXCEPTION_HANDLERS,
    health_handlers,
    observability,
    refuse_limited_to_source,
)
from headwater.scheduler import SERVICE
from headwater.scheduler.bootstrap import Container, bootstrap
from headwater.scheduler.entrypoints.http.controllers import CONTROLLERS


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()

    async def database_answers() -> None:
        async with c.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    plugins, middleware, metrics = observability(SERVICE)
    return Litestar(
        route_handlers=[*CONTROLLERS, *health_handlers([database_answers]), *metrics],
        dependencies={
            "uow_factory": Provide(lambda: c.uow_factory, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: c.settings, use_cache=True, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # Schedules and checks belong to no data source: a `limited_to_source` principal may use none of them.
        guards=[refuse_limited_to_source],
        plugins=plugins,
        middleware=middleware,
        on_startup=[c.open, freeze_startup_objects],
        on_shutdown=[c.close],
        openapi_config=None,
        logging_config=None,  # structlog (configured in bootstrap) handles every logger
    )
