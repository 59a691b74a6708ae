"""The ports of execution-tracking's use cases: its repositories, the hot-path run writer and the lineage graph
reader, as Protocols (Postgres implements them under `adapters/db`, `headwater.execution_tracking.testing` in
memory).

Writes raise `headwater.common.errors.Duplicate` (a unique rule) or `MissingReference` (a row referred to is
missing), never a database exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from headwater.common.errors import UseCaseError
from headwater.common.events import Event
from headwater.execution_tracking.domain.records import (
    AddressRecord,
    AddressTypeRecord,
    BatchCounts,
    DescribedAddress,
    EdgeChange,
    EndPlan,
    ExecutionRecord,
    Pair,
    PipelineRecord,
    PipelineTypeRecord,
    PipelineWithType,
    StartedExecution,
    StoredAddress,
    Walk,
)

# -- repositories (reached as `uow.<name>`) ---------------------------------------------------------------------


R_co = TypeVar("R_co", covariant=True)


class NamedRows(Protocol[R_co]):
    """Rows with an id and a unique name, read as records of one kind."""

    async def insert_if_absent(self, values: Mapping[str, Any], /) -> int | None:
        """Insert a row; None when one of that name exists (it is not updated)."""
        ...

    async def id_by_name(self, name: str, /) -> int | None: ...

    async def get(self, row_id: int, /) -> R_co | None: ...

    async def locked(self, row_id: int | None, name: str | None, /) -> R_co | None:
        """The row with this id (or, without one, this name), locked for the rest of the transaction."""
        ...

    async def list(self, limit: int, offset: int, /) -> Sequence[R_co]:
        """At most `limit` rows in id order, after the first `offset`."""
        ...

    async def update(self, row_id: int, values: Mapping[str, Any], /) -> R_co: ...


class PipelineTypes(NamedRows[PipelineTypeRecord], Protocol):
    async def get_or_create(self, name: str) -> int:
        """The id of the type named so, created with default settings when missing."""
        ...


class Pipelines(NamedRows[PipelineRecord], Protocol):
    async def with_type(self, pipeline_ids: Sequence[int]) -> Sequence[PipelineWithType]:
        """These pipelines with their types' settings, in id order (for building events)."""
        ...

    async def with_type_by(self, ids: Sequence[int], names: Sequence[str]) -> Sequence[PipelineWithType]:
        """The pipelines with one of these ids or names, with their types' settings."""
        ...

    async def lock_with_type(self, name: str) -> PipelineWithType | None:
        """The pipeline named so, with its type's settings, locked."""
        ...

    async def ids_of_type(self, type_id: int) -> list[int]: ...

    async def record_success(self, pipeline_id: int, stamps: Mapping[str, datetime]) -> None:
        """The watermark handshake and the `last_target_*` stamps of a successful end; lineage reloads stop."""
        ...

    async def record_successes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """`record_success` for several pipelines at once; a `last_target_*` of None keeps the stored one."""
        ...


class Executions(Protocol):
    async def merge_anomaly_flags(self, patches: Mapping[int, Mapping[str, bool]]) -> int:
        """Set the given metric flags of each execution, keeping its other flags; returns how many exist."""
        ...

    async def id_by_run_id(self, run_id: str) -> int | None: ...

    async def run_for_end(self, run_id: str) -> StartedExecution | None:
        """The execution with this producer-chosen run id, locked."""
        ...

    async def run_state(self, run_id: str) -> ExecutionRecord | None:
        """Everything stored of the execution with this run id, locked."""
        ...

    async def runs_for_end(self, run_ids: Sequence[str]) -> Sequence[StartedExecution]:
        """The executions with these run ids, locked."""
        ...

    async def start_many(self, rows: Sequence[Mapping[str, Any]]) -> Sequence[StartedExecution]:
        """Insert executions with their place in the hierarchy; runs that exist already are skipped (not
        returned). A row's parent must be stored already: callers insert parents first."""
        ...

    async def end_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write the end columns of several executions (each row has the execution's `id`)."""
        ...

    async def attach(self, execution_id: int, parent_id: int) -> bool:
        """Give a root execution its parent; False (nothing done) when it has one or that would make a cycle."""
        ...

    async def update(self, execution_id: int, values: Mapping[str, Any]) -> None: ...

    async def tree(self, execution_id: int) -> Sequence[ExecutionRecord]:
        """The execution and all its descendants, shallowest first (then by id)."""
        ...

    async def delete_old(self, cutoff: datetime, batch_size: int) -> BatchCounts:
        """Delete up to `batch_size` runs older than `cutoff` and everything that points at them."""
        ...


class AddressTypes(NamedRows[AddressTypeRecord], Protocol):
    async def get_or_create_many(self, types: Mapping[str, str]) -> dict[str, int]:
        """Ids of the types named (name -> group); missing ones are created with that group."""
        ...


class Addresses(NamedRows[AddressRecord], Protocol):
    async def get_or_create_many(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, StoredAddress]:
        """Get-or-create by name, set-based; an existing address is left as it is. Keyed by name."""
        ...

    async def described(self, address_ids: Sequence[int]) -> Sequence[DescribedAddress]:
        """Addresses with their type's name and group, in id order."""
        ...


class Lineage(Protocol):
    async def replace(self, pipeline_id: int, edges: Sequence[Pair]) -> EdgeChange:
        """Make the pipeline's edges exactly `edges`: stale ones go, new ones come."""
        ...


class RunDatasets(Protocol):
    async def add(self, execution_id: int, inputs: Sequence[int], outputs: Sequence[int]) -> int:
        """Record datasets of a run; returns how many were new to it."""
        ...

    async def latest_complete_run(self, pipeline_id: int) -> tuple[list[int], list[int]] | None:
        """Inputs and outputs of the pipeline's latest run (by start, then run id) that declared both."""
        ...


# -- the hot path of HTTP starts and ends --------------------------------------------------------------------------


class Ending(Protocol):
    """The transaction in which one execution is ended."""

    async def lock(
        self, execution_id: int, *, with_pipeline: bool
    ) -> tuple[StartedExecution, PipelineWithType] | None:
        """The execution and its pipeline (with its type's settings), locked; None when missing. The pipeline
        is locked too when `with_pipeline` (the end will change it)."""
        ...

    async def write(self, current: StartedExecution, plan: EndPlan, events: Sequence[Event]) -> None:
        """The locked execution's end as planned, the pipeline's watermark handshake (on success) and the
        events, at once."""
        ...


class RunWriter(Protocol):
    """Starts and ends executions with their events in as few round trips as possible (no unit of work)."""

    async def reserve(self, pipeline_id: int) -> tuple[int, str | None]:
        """A fresh execution id and the pipeline's name (None when there is no such pipeline)."""
        ...

    async def insert_started(self, execution: StartedExecution, events: Sequence[Event]) -> bool:
        """Insert the execution with its reserved id, its place in the hierarchy and `events`, atomically.
        False (nothing written) when its parent, or its pipeline since `reserve`, does not exist."""
        ...

    def ending(self) -> AbstractAsyncContextManager[Ending]:
        """A transaction in which to end one execution."""
        ...


# -- the lineage graph ----------------------------------------------------------------------------------------------


class WalkTooLong(UseCaseError):
    """A lineage walk ran past its time budget (each hop is a quick query, but up to 100 hops over a dense
    graph add up): 503, the caller may retry or ask for a smaller depth or limit."""

    status = 503


class LineageGraphReader(Protocol):
    async def walk(
        self, starts: Iterable[int], *, upstream: bool, downstream: bool, depth: int, limit: int
    ) -> Walk:
        """Walk from every address of `starts` (depth 0) in the directions asked, `depth` hops at most,
        `limit` addresses at most (then `truncated`); `WalkTooLong` past the reader's time budget."""
        ...

    async def pipeline_edges(self, pipeline_id: int) -> list[Pair]: ...

    async def describe(
        self, address_ids: Iterable[int], pipeline_ids: Iterable[int]
    ) -> tuple[list[DescribedAddress], dict[int, str]]:
        """The addresses (with their type) and the names of the pipelines, by id."""
        ...
