"""Run reports that producers publish to the `ingress.runs` topic instead of calling HTTP.

A producer chooses the `run_id` (any string up to 200 characters, unique per run); re-sending a report is
harmless. The pipeline is named by `pipeline_id` or by `pipeline_name`; with `pipeline_name` and
`pipeline_type_name` an unknown pipeline is created on first sight. Key messages by pipeline so a run's
`run.started` precedes its `run.ended`. Invalid reports go to `ingress.runs.dlq` with the reason in headers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec

from headwater.common.contracts.types import NAMED, STORABLE, Count, check_metadata, storable_json
from headwater.common.events.base import decode_event

RunId = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=STORABLE)]
Watermark = (
    Annotated[str, msgspec.Meta(max_length=50, pattern=STORABLE)]
    | Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
)
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=NAMED)]


class _RunReport(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    topic: ClassVar[str] = "ingress.runs"

    run_id: RunId
    pipeline_id: int | None = None
    pipeline_name: Name | None = None
    pipeline_type_name: Name | None = None

    def __post_init__(self) -> None:
        if self.pipeline_id is None and self.pipeline_name is None:
            raise ValueError("a run report names its pipeline by `pipeline_id` or `pipeline_name`")


class RunStarted(_RunReport, frozen=True, kw_only=True, tag="run.started.v1"):
    """A producer's run started (the Kafka twin of `POST /start_pipeline_execution`)."""

    start_date: datetime | None = None
    parent_run_id: RunId | None = None
    watermark: Watermark | None = None
    next_watermark: Watermark | None = None


class RunEnded(_RunReport, frozen=True, kw_only=True, tag="run.ended.v1"):
    """A producer's run ended (the Kafka twin of `POST /end_pipeline_execution`).

    `start_date` lets an end whose start was never reported still be recorded.
    """

    end_date: datetime
    completed_successfully: bool
    start_date: datetime | None = None
    total_rows: Count | None = None
    inserts: Count | None = None
    updates: Count | None = None
    soft_deletes: Count | None = None
    execution_metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        storable_json("execution_metadata", self.execution_metadata)
        check_metadata("execution_metadata", self.execution_metadata)


RunReport = RunStarted | RunEnded


def decode_run_report(data: bytes) -> RunStarted | RunEnded:
    """Decode one `ingress.runs` message; raises msgspec.ValidationError/DecodeError with a reason."""
    return decode_event(data, RunReport)
