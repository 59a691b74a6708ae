"""What execution-tracking's controllers receive by name: the unit-of-work factory, the run writer of the hot
path and the lineage graph reader (`controllers.dependencies` provides the last two)."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from headwater.execution_tracking.service_layer.ports import LineageGraphReader, RunWriter
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWorkFactory

UowFactory = NamedDependency[SkipValidation[UnitOfWorkFactory]]
Runs = NamedDependency[SkipValidation[RunWriter]]
Graph = NamedDependency[SkipValidation[LineageGraphReader]]
