"""The internal HTTP app factory of ingestion (`granian --factory`)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from headwater.common.service import create_service_app
from headwater.ingestion import SERVICE
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http.data_controllers import CONTROLLERS as DATA_CONTROLLERS
from headwater.ingestion.entrypoints.http.metadata_controllers import CONTROLLERS


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()
    return create_service_app(
        SERVICE,
        c,
        [*CONTROLLERS, *DATA_CONTROLLERS],
        dependencies={"warehouses": Provide(lambda: c.warehouses, use_cache=True, sync_to_thread=False)},
    )
