"""The internal HTTP app factory of scheduler (`granian --factory`)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from headwater.common.http import refuse_limited_to_source
from headwater.common.service import create_service_app
from headwater.scheduler import SERVICE
from headwater.scheduler.bootstrap import Container, bootstrap
from headwater.scheduler.entrypoints.http.controllers import CONTROLLERS


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()
    return create_service_app(
        SERVICE,
        c,
        CONTROLLERS,
        # Schedules and checks belong to no data source: a `limited_to_source` principal may use none of them.
        guards=[refuse_limited_to_source],
        dependencies={"clock": Provide(lambda: c.clock, use_cache=True, sync_to_thread=False)},
    )
