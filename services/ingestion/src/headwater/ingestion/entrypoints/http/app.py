"""The internal HTTP app factory of ingestion (`granian --factory`)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from headwater.common.service import create_service_app
from headwater.ingestion import SERVICE
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http import (
    data_controllers,
    file_controllers,
    metadata_controllers,
    sensor_controllers,
    sync_controllers,
)


def create_app(container: Container | None = None) -> Litestar:
    """Build the app; without a container, the composition root builds one from the environment."""
    c = container or bootstrap()
    return create_service_app(
        SERVICE,
        c,
        [
            *metadata_controllers.CONTROLLERS,
            *file_controllers.CONTROLLERS,
            *data_controllers.CONTROLLERS,
            *sensor_controllers.CONTROLLERS,
            *sync_controllers.CONTROLLERS,
        ],
        dependencies={
            "store": Provide(lambda: c.store, use_cache=True, sync_to_thread=False),
            "buckets": Provide(lambda: c.buckets, use_cache=True, sync_to_thread=False),
            "warehouses": Provide(lambda: c.warehouses, use_cache=True, sync_to_thread=False),
            "box": Provide(lambda: c.box, use_cache=True, sync_to_thread=False),
            "connectors": Provide(lambda: c.connectors, use_cache=True, sync_to_thread=False),
        },
    )
