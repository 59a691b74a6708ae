"""What ingestion's controllers receive by name: the unit-of-work factory, the settings, the caller."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from headwater.common.principal import Principal
from headwater.ingestion.service_layer.ports import Buckets, Connectors, Sealer, Store, Warehouses
from headwater.ingestion.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.ingestion.settings import Settings

UowFactory = NamedDependency[SkipValidation[UnitOfWorkFactory]]
AppSettings = NamedDependency[SkipValidation[Settings]]
Caller = NamedDependency[SkipValidation[Principal]]
# `store`: the object store of the files; `warehouses`: the destination warehouses, opened on first use.
StoreDep = NamedDependency[SkipValidation[Store]]
# `buckets`: the users' buckets that sensors list.
BucketsDep = NamedDependency[SkipValidation[Buckets]]
WarehousesDep = NamedDependency[SkipValidation[Warehouses]]
# `box`: seals and opens connection configurations; `connectors`: the registry of sources and destinations.
SealerDep = NamedDependency[SkipValidation[Sealer]]
ConnectorsDep = NamedDependency[SkipValidation[Connectors]]
