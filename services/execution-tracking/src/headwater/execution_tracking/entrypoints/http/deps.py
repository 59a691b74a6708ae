"""What execution-tracking's controllers receive by name: the unit-of-work factory, the run writer of the hot
path and the lineage graph reader (`controllers.dependencies` provides the last two); and the paging parameters
of the lists."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import QueryParameter, SkipValidation

from headwater.common.contracts.watcher import MAX_LIST_LIMIT
from headwater.execution_tracking.service_layer.ports import LineageGraphReader, RunWriter
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWorkFactory

UowFactory = NamedDependency[SkipValidation[UnitOfWorkFactory]]
Runs = NamedDependency[SkipValidation[RunWriter]]
Graph = NamedDependency[SkipValidation[LineageGraphReader]]

ListLimit = Annotated[int, QueryParameter(ge=1, le=MAX_LIST_LIMIT, description="most rows, in id order")]
ListOffset = Annotated[int, QueryParameter(ge=0, description="rows to skip")]
