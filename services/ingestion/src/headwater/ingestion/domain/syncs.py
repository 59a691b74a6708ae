"""Syncs: a job copies the selected streams of a source into a destination, on a cron or on demand.

A connection (a source or a destination) is a connector kind, its version and its configuration, owned by a
project and named uniquely within it. A job joins one source to one destination with the streams to copy and how
(`StreamConfig`), and a cron. Each run of a job (`SyncRun`) reads every selected stream and writes it, stream by
stream; what a stream has read so far (`state`, the connector's own cursor) is saved after the destination has
committed the rows, so a killed run resumes where the destination stands. The OLake and Data Ingestion dialects
are words for these in the gateway; nothing here knows them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from jsonschema import Draft202012Validator

from headwater.common.errors import Invalid
from headwater.ingestion.domain.connectors import Stream, SyncMode

JOB_PREFIX = "sync-"  # a job's name for the scheduler and its tracked pipeline: `sync-<job id>`


def job_name(job_id: int) -> str:
    return f"{JOB_PREFIX}{job_id}"


class Role(enum.StrEnum):
    SOURCE = "source"
    DESTINATION = "destination"


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """A source or a destination as stored: its configuration sealed (encrypted; the use cases open it with the
    service's key when they need it, so it is never plaintext at rest nor in a log line)."""

    id: int
    role: Role
    project_id: str
    name: str
    kind: str
    version: str
    sealed_config: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    deleted_at: datetime | None = None


class StreamConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One selected stream of a job: what to read, how, and where it lands."""

    namespace: str | None = None
    name: str
    sync_mode: SyncMode = SyncMode.FULL_REFRESH
    cursor_field: str | None = None
    primary_key: tuple[str, ...] = ()
    destination_namespace: str | None = None
    destination_table: str | None = None

    @property
    def key(self) -> str:
        """The stream's identity within a job (its saved state is keyed by it)."""
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    @property
    def table(self) -> str:
        return self.destination_table or self.name


class Job(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    project_id: str
    name: str
    source_id: int
    destination_id: int
    streams: tuple[StreamConfig, ...]
    frequency: str | None  # cron (UTC); None: on demand only
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    deleted_at: datetime | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)  # a dialect's own fields, kept as sent


class RunStatus(enum.StrEnum):
    QUEUED = "queued"  # requested; a worker's runner claims it
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    SKIPPED = "skipped"  # fired while another run of the job was running


ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})  # at most one per job at a time


class SyncRun(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # a UUID: the run id of the job's tracked pipeline in the Watcher API too
    job_id: int
    status: RunStatus
    trigger: str  # schedule | manual
    started_at: datetime
    ended_at: datetime | None = None
    rows: dict[str, int] = msgspec.field(default_factory=dict)  # per stream key
    error: str | None = None
    cancel_requested: bool = False
    attempt: int = (
        0  # how many times a worker claimed it (a run whose worker died is claimed again and resumes)
    )
    lease_until: datetime | None = None

    @property
    def runtime_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    level: str
    message: str
    fields: dict[str, Any] = msgspec.field(default_factory=dict)


def streams_from(items: Sequence[Mapping[str, Any]]) -> tuple[StreamConfig, ...]:
    """Stream configs from their JSON form (what `StreamConfig` encodes to), refusing duplicates and nonsense."""
    try:
        streams = msgspec.convert(list(items), tuple[StreamConfig, ...])
    except msgspec.ValidationError as e:
        raise Invalid(f"streams: {e}") from None
    seen: set[str] = set()
    for s in streams:
        if not s.name.strip():
            raise Invalid("streams: a stream needs a `name`")
        if s.key in seen:
            raise Invalid(f"streams: {s.key!r} is selected twice")
        seen.add(s.key)
        if s.sync_mode is SyncMode.INCREMENTAL and not s.cursor_field:
            raise Invalid(f"streams: {s.key!r} syncs incrementally and needs a `cursor_field`")
    return streams


def unknown_streams(selected: Sequence[StreamConfig], discovered: Sequence[Stream]) -> list[str]:
    """The selected streams the source does not have (a job naming a missing table is refused)."""
    known = {(s.namespace, s.name) for s in discovered} | {(None, s.name) for s in discovered}
    return [s.key for s in selected if (s.namespace, s.name) not in known]


def secret_fields(spec: Mapping[str, Any]) -> set[str]:
    """The top-level properties of a connector's JSON Schema that hold secrets (never shown, never logged): marked
    `secret: true`, `x-secret` or `format: password` (every connector's form is read by this one rule)."""
    properties: Mapping[str, Any] = spec.get("properties") or {}
    return {
        name
        for name, schema in properties.items()
        if isinstance(schema, Mapping)
        and (schema.get("secret") is True or schema.get("x-secret") or schema.get("format") == "password")  # pyright: ignore[reportUnknownMemberType]
    }


def config_errors(spec: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """What is wrong with a connection's configuration against its connector's JSON Schema: one message per
    failing field, naming it (`config.port: ...`); empty when it passes."""
    validator = Draft202012Validator(dict(spec))
    errors: list[str] = []
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.path)):  # pyright: ignore[reportUnknownMemberType, reportUnknownLambdaType, reportUnknownArgumentType]
        where = ".".join(str(p) for p in error.path) or "config"  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType, reportUnknownVariableType]
        where = where if where == "config" else f"config.{where}"
        errors.append(f"{where}: {error.message}")
    return errors


MASK = "********"


def masked(config: Mapping[str, Any], secrets: set[str]) -> dict[str, Any]:
    return {k: (MASK if k in secrets and v not in (None, "") else v) for k, v in config.items()}


def unmasked(changes: Mapping[str, Any], current: Mapping[str, Any], secrets: set[str]) -> dict[str, Any]:
    """An edited configuration: a secret sent back masked keeps its stored value."""
    return {k: (current.get(k) if k in secrets and v == MASK else v) for k, v in changes.items()}
