"""OpenLineage RunEvents as the official clients emit them (https://openlineage.io/spec/2-0-2/OpenLineage.json).

Accepted over HTTP (`POST /api/v1/lineage`, as Marquez serves it) and on the Kafka topic `ingress.lineage`
(as the client's Kafka transport writes it). Only the parts Headwater uses are typed; every other field and
facet is accepted and ignored, so newer clients keep working.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from headwater.common.contracts.types import MAX_LINEAGE_SIDE, STORABLE, Count, check_lineage_edges
from headwater.common.contracts.types import Text as FreeText

Text = Annotated[str, Meta(min_length=1, max_length=1000, pattern=STORABLE)]


class EventType(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


TERMINAL = frozenset({EventType.COMPLETE, EventType.ABORT, EventType.FAIL})


class JobType(Struct, kw_only=True):
    integration: FreeText | None = None
    processingType: FreeText | None = None  # noqa: N815 - OpenLineage's field names
    jobType: FreeText | None = None  # noqa: N815


class JobFacets(Struct, kw_only=True):
    jobType: JobType | None = None  # noqa: N815


class JobRef(Struct, kw_only=True):
    namespace: Text
    name: Text


class Job(JobRef, kw_only=True):
    facets: JobFacets | None = None


class RunRef(Struct, kw_only=True):
    runId: uuid.UUID  # noqa: N815


class ParentRun(Struct, kw_only=True):
    run: RunRef
    job: JobRef


class RunFacets(Struct, kw_only=True):
    parent: ParentRun | None = None


class Run(RunRef, kw_only=True):
    facets: RunFacets | None = None


class OutputStatistics(Struct, kw_only=True):
    rowCount: Count | None = None  # noqa: N815
    size: Count | None = None


class OutputFacets(Struct, kw_only=True):
    outputStatistics: OutputStatistics | None = None  # noqa: N815


class InputDataset(Struct, kw_only=True):
    namespace: Text
    name: Text
    facets: dict[str, Any] | None = None


class OutputDataset(Struct, kw_only=True):
    namespace: Text
    name: Text
    facets: dict[str, Any] | None = None
    outputFacets: OutputFacets | None = None  # noqa: N815


class RunEvent(Struct, kw_only=True):
    """One OpenLineage RunEvent. `eventType` may be omitted (the spec allows it): it then counts as OTHER."""

    eventTime: datetime  # noqa: N815
    run: Run
    job: Job
    eventType: EventType = EventType.OTHER  # noqa: N815
    inputs: Annotated[list[InputDataset], Meta(max_length=MAX_LINEAGE_SIDE)] = msgspec.field(
        default_factory=list
    )
    outputs: Annotated[list[OutputDataset], Meta(max_length=MAX_LINEAGE_SIDE)] = msgspec.field(
        default_factory=list
    )
    producer: FreeText = ""
    schemaURL: FreeText = ""  # noqa: N815

    def __post_init__(self) -> None:
        """The job's edges are its inputs x outputs: at most `MAX_LINEAGE_EDGES` per event."""
        check_lineage_edges(
            len({(d.namespace, d.name) for d in self.inputs}),
            len({(d.namespace, d.name) for d in self.outputs}),
        )


_decoder = msgspec.json.Decoder(RunEvent)


def decode_run_event(data: bytes) -> RunEvent:
    """Decode one RunEvent; raises msgspec.ValidationError / msgspec.DecodeError with the reason.

    A JobEvent or DatasetEvent (no `run`) is refused with a message that says so.
    """
    try:
        return _decoder.decode(data)
    except UnicodeDecodeError as exc:  # msgspec's word for bytes that are not UTF-8 inside a string
        raise msgspec.DecodeError(f"not valid UTF-8 ({exc.reason})") from exc
    except msgspec.ValidationError as exc:
        if "missing required field `run`" in str(exc) or "missing required field `job`" in str(exc):
            raise msgspec.ValidationError(
                f"{exc}; only OpenLineage RunEvents are accepted (JobEvent and DatasetEvent are not)"
            ) from exc
        raise
