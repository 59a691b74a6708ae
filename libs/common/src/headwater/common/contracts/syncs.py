"""ingestion's internal API of syncs: connector types and forms, connections (sources and destinations) of a
project, jobs joining them, their runs and run logs. The dialects (OLake, the Data Ingestion API) are built on
these in the gateway; nothing here is a dialect's word."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from msgspec import Struct, field

SyncModeName = Literal["full_refresh", "incremental", "cdc"]
RoleName = Literal["sources", "destinations"]


class ConnectorType(Struct, kw_only=True):
    type: str
    versions: list[str]


class ConnectorSpec(Struct, kw_only=True):
    """A connector's configuration form: a JSON Schema; properties with `secret: true` hold secrets."""

    type: str
    version: str
    spec: dict[str, Any]


class ConnectionConfig(Struct, kw_only=True):
    """A configuration to check or to discover with, nothing stored."""

    type: str
    config: dict[str, Any]
    version: str = "latest"


class CheckAnswer(Struct, kw_only=True):
    ok: bool
    message: str
    reason: str | None = None


class StreamColumn(Struct, kw_only=True):
    name: str
    type: str
    format: str | None = None
    nullable: bool = True


class DiscoveredStream(Struct, kw_only=True):
    namespace: str | None
    name: str
    columns: list[StreamColumn]
    primary_key: list[str]
    cursor_candidates: list[str]
    sync_modes: list[SyncModeName]


class ConnectionWrite(Struct, kw_only=True):
    name: str
    type: str
    config: dict[str, Any]
    version: str = "latest"


class JobRef(Struct, kw_only=True):
    """A job as a connection's listing names it."""

    id: int
    name: str
    active: bool
    source_name: str | None
    destination_name: str | None
    last_run_time: datetime | None
    last_run_state: str | None


class Connection(Struct, kw_only=True):
    """A source or destination; `config` has its secrets masked (`********`: send it back to keep the value)."""

    id: int
    project_id: str
    name: str
    type: str
    version: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    deleted: bool = False
    jobs: list[JobRef] = field(default_factory=list)


class StreamSelection(Struct, kw_only=True):
    """One stream a job copies: from the source's `namespace`.`name`, how, and into which table."""

    name: str
    namespace: str | None = None
    sync_mode: SyncModeName = "full_refresh"
    cursor_field: str | None = None
    primary_key: list[str] = field(default_factory=list)
    destination_namespace: str | None = None
    destination_table: str | None = None


class JobWrite(Struct, kw_only=True):
    name: str
    source_id: int
    destination_id: int
    streams: list[StreamSelection]
    frequency: str | None = None  # a cron (UTC); None: on demand only
    active: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # a dialect's own fields, kept and answered back


class JobPatch(Struct, kw_only=True):
    name: str | None = None
    source_id: int | None = None
    destination_id: int | None = None
    streams: list[StreamSelection] | None = None
    frequency: str | None = None
    active: bool | None = None
    extra: dict[str, Any] | None = None


class Job(Struct, kw_only=True):
    id: int
    project_id: str
    name: str
    source: Connection | None
    destination: Connection | None
    streams: list[StreamSelection]
    frequency: str | None
    active: bool
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    last_run_time: datetime | None
    last_run_state: str | None


class Run(Struct, kw_only=True):
    id: str
    job_id: int
    status: Literal["queued", "running", "succeeded", "failed", "canceled", "skipped"]
    trigger: str
    started_at: datetime
    ended_at: datetime | None
    runtime_seconds: int | None
    rows: dict[str, int]
    error: str | None
    attempt: int


class LogLine(Struct, kw_only=True):
    at: datetime
    level: str
    message: str
    fields: dict[str, Any]


class Accepted(Struct, kw_only=True):
    message: str
