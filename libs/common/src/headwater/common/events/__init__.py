"""THE event contracts of Headwater: one module per producing service, msgspec only.

Every event is a frozen, tagged Struct; its tag is `<type>.v<major>` (e.g. `execution.ended.v1`). Fields are
only ever added with defaults; a breaking change is a new major version published beside the old one.
"""

from headwater.common.events.base import Event, decode_event, encode_event
from headwater.common.events.execution_tracking import (
    ExecutionEnded,
    ExecutionStarted,
    LineageAddress,
    LineageChanged,
    LineageEdge,
    PipelineChanged,
    PipelineSlo,
)
from headwater.common.events.ingestion import (
    DatasetEvent,
    FileIngested,
    FileStored,
    JobChanged,
    RowsQuarantined,
)
from headwater.common.events.ingress import RunEnded, RunReport, RunStarted, decode_run_report
from headwater.common.events.quality_alerting import (
    AlertRaised,
    AlertResolved,
    AnomalousMetric,
    AnomalyCleared,
    AnomalyDetected,
)
from headwater.common.events.scheduler import ChecksRequested, JobRunRequested, RetentionRequested

__all__ = [
    "AlertRaised",
    "AlertResolved",
    "AnomalousMetric",
    "AnomalyCleared",
    "AnomalyDetected",
    "ChecksRequested",
    "DatasetEvent",
    "Event",
    "ExecutionEnded",
    "ExecutionStarted",
    "FileIngested",
    "FileStored",
    "JobChanged",
    "JobRunRequested",
    "LineageAddress",
    "LineageChanged",
    "LineageEdge",
    "PipelineChanged",
    "PipelineSlo",
    "RetentionRequested",
    "RowsQuarantined",
    "RunEnded",
    "RunReport",
    "RunStarted",
    "decode_event",
    "decode_run_report",
    "encode_event",
]
