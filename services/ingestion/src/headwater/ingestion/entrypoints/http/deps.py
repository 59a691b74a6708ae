"""What ingestion's controllers receive by name: the unit-of-work factory, the settings, the caller."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from headwater.common.principal import Principal
from headwater.ingestion.service_layer.ports import Warehouses
from headwater.ingestion.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.ingestion.settings import Settings

UowFactory = NamedDependency[SkipValidation[UnitOfWorkFactory]]
AppSettings = NamedDependency[SkipValidation[Settings]]
Caller = NamedDependency[SkipValidation[Principal]]
# `warehouses`: the destinations' warehouses (the container's pools).
Pools = NamedDependency[SkipValidation[Warehouses]]
