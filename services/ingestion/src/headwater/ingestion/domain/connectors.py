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
        self.reason = reason  # unreachable_host, connection_refused, bad_credentials, permission_denied, tls_required,
        # not_found, invalid_config, timeout
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
    mode: str = "append"  # append | overwrite (a full refresh replaces the table once its first batch is written)


class WriteSummary(msgspec.Struct, frozen=True, kw_only=True):
    rows_written: int
    location: str  # where the rows are now, for a person: `schema.table`, `s3://bucket/prefix/`, `catalog.ns.table`


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
