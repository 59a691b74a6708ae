"""The composition root: settings, logging, telemetry, engine, the unit-of-work factory, the object store and the
destination warehouses, built on demand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common.db.unit_of_work import UnitOfWorkFactory
from headwater.common.service import ServiceContainer, start_process
from headwater.common.settings import load_settings
from headwater.ingestion import SCHEMA, SERVICE
from headwater.ingestion.adapters.connectors.catalog import ConnectorCatalog
from headwater.ingestion.adapters.db.unit_of_work import SqlUnitOfWork
from headwater.ingestion.adapters.secrets import SecretBox
from headwater.ingestion.adapters.storage import (
    BucketStores,
    ObjectStore,
    StoreConfig,
    local_store,
    parse_store_url,
)
from headwater.ingestion.adapters.warehouse.pools import WarehousePools
from headwater.ingestion.arrow import use_jemalloc
from headwater.ingestion.settings import Settings


@dataclass
class Container(ServiceContainer):
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory[SqlUnitOfWork]
    store: ObjectStore
    # The users' buckets that sensors list (data sources naming an `s3_bucket` or `gs_bucket`).
    buckets: BucketStores
    # The destinations' connection pools, opened on first use.
    warehouses: WarehousePools
    # Syncs: the key connection configurations are sealed with, and every source and destination connector.
    box: SecretBox
    connectors: ConnectorCatalog

    async def close(self) -> None:
        await self.warehouses.close()
        await super().close()


def store_config(url: str) -> StoreConfig:
    """The store of `object_store_url`; `file://relative/folder` (the default) is a folder under the current
    directory."""
    if url.startswith("file://") and not url.startswith(("file:///", "file://localhost/")):
        return local_store(url.removeprefix("file://"))
    return parse_store_url(url)


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or load_settings(Settings, SERVICE)
    engine = start_process(SERVICE, SCHEMA, settings)
    use_jemalloc()
    return Container(
        settings=settings,
        engine=engine,
        uow_factory=UnitOfWorkFactory(engine, SqlUnitOfWork),
        store=ObjectStore(store_config(settings.object_store_url)),
        buckets=BucketStores(
            allowed_endpoints=settings.sensor_s3_endpoints.split(","),
            own_credentials=settings.sensor_own_credentials,
        ),
        warehouses=WarehousePools(),
        box=SecretBox(*settings.connection_secrets()),
        connectors=ConnectorCatalog(
            local_roots=[Path(root) for root in settings.sync_local_roots.split(",") if root.strip()],
            allow_hosts=[host for host in settings.sync_allow_hosts.split(",") if host.strip()],
        ),
    )
