"""Connectors as the sync engine sees them: what a source or destination offers, whatever system it talks to.

A connector has a kind (`postgres`, `mysql`, `s3`, ...), a JSON Schema for its configuration (the form a UI draws),
and a few operations. A source checks its configuration, discovers the streams it can read and reads one stream as
Arrow record batches; a destination checks its configuration and writes the batches of one stream. Everything
system-specific lives in `adapters/connectors/`; the registry there maps a kind to its connector. The dialects
(OLake, the Data Ingestion API) translate their own words into these and back, in the gateway.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import msgspec

from headwater.ingestion.arrow import RecordBatch

# In batches of a CDC read: insert | update | delete (a delete carries the key columns).
CHANGE_OP_COLUMN = "_op"


class SyncMode(enum.StrEnum):
    FULL_REFRESH = "full_refresh"
    INCREMENTAL = "incremental"  # rows whose cursor column is past the saved state
    CDC = "cdc"  # changes read from the database's log


class Column(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str  # a JSON Schema type: string, integer, number, boolean, object, array; plus `format` below
    format: str | None = None  # date-time, date, time, binary, ... (JSON Schema's `format`)
    nullable: bool = True


class Stream(msgspec.Struct, frozen=True, kw_only=True):
    """A table (or a file set, or an endpoint) a source can read."""

    namespace: str | None  # schema / database / folder; None where the system has none
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    cursor_candidates: tuple[str, ...] = ()  # columns an incremental sync can order by
    sync_modes: tuple[SyncMode, ...] = (SyncMode.FULL_REFRESH,)


class CheckFailed(Exception):
    """A configuration that does not connect, with a message a user can act on (`reason` is a stable code)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        # unreachable_host, connection_refused, bad_credentials, permission_denied, tls_required, not_found,
        # invalid_config, timeout (sources also: tls_unavailable, tls_failed, connection_failed, read_failed,
        # cdc_unavailable)
        self.reason = reason
        self.message = message


class WriteFailed(Exception):
    """Rows a destination refused (a column whose type the batches contradict, a name it cannot hold, a store
    or catalog that failed mid-write); nothing of the `write` call is committed where the system allows it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        # invalid_config, invalid_name, type_mismatch, unavailable, permission_denied, failed
        self.reason = reason
        self.message = message


class ReadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One stream to read: how, and from where the previous sync stopped (`state` is the connector's own)."""

    stream: Stream
    sync_mode: SyncMode = SyncMode.FULL_REFRESH
    cursor_field: str | None = None
    state: Mapping[str, Any] | None = None
    batch_rows: int = 50_000


class ReadBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Rows read, and the state to save once they are written (saving it earlier could skip rows on a crash)."""

    records: RecordBatch
    state: Mapping[str, Any] | None


class WriteTarget(msgspec.Struct, frozen=True, kw_only=True):
    namespace: str | None
    table: str
    primary_key: tuple[str, ...] = ()
    # append | overwrite (a full refresh replaces the table once its first batch is written)
    mode: str = "append"
    # the sync run writing: file destinations name their parts after it, so a retried run replaces its own
    # files instead of adding copies
    run_id: str | None = None


class WriteSummary(msgspec.Struct, frozen=True, kw_only=True):
    rows_written: int
    # where the rows are now, for a person: `schema.table`, `s3://bucket/prefix/`, `catalog.ns.table`
    location: str


class Source(Protocol):
    kind: str

    def spec(self) -> dict[str, Any]:
        """The JSON Schema of this connector's configuration."""
        ...

    async def check(self, config: Mapping[str, Any]) -> None:
        """Connect and return, or raise `CheckFailed`."""
        ...

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]: ...

    def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]: ...


class Destination(Protocol):
    kind: str

    def spec(self) -> dict[str, Any]: ...

    async def check(self, config: Mapping[str, Any]) -> None: ...

    async def write(
        self, config: Mapping[str, Any], target: WriteTarget, batches: AsyncIterator[RecordBatch]
    ) -> WriteSummary: ...
